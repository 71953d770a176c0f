#!/usr/bin/env node
// A tiny, dependency-free HTTP service for the dev mesh (docker-compose.yml) and the ECS demo.
// It stands in for users, activities, todos and notifications:
//   GET /health              200 "ok" (the Consul check)
//   GET /                    200 {"service": NAME, ...}
//   GET /call/<up>[/<path>]  calls upstream <up> through its local bind port (the sidecar's
//                            upstream listener, 127.0.0.1:<port>) and returns what it answered
//   GET /slow/<ms>           200 {"service": NAME, "sleptMs": ms} after ms (at most 60000): a
//                            request in flight while a node drains; logs "slow request" as it
//                            begins
// Configuration (environment):
//   SERVICE_NAME   the name it answers with (default "demo")
//   PORT           listen port (default 8080; 0 picks a free one)
//   HOST           listen address (default 127.0.0.1: inside a mesh node only the sidecar and
//                  the local Consul check need to reach it)
//   UPSTREAMS      "todos=1234,notifications=1235": upstream name -> local bind port
//   UPSTREAM_HOST  where the upstream listeners are (default 127.0.0.1)
//   CALL_TIMEOUT_MS  per upstream call (default 5000)
// `node server.mjs --check` is the container HEALTHCHECK: GET /health on PORT, exit 0 or 1.
import { createServer } from 'node:http';
import { realpathSync } from 'node:fs';
import { hostname } from 'node:os';
import { pathToFileURL } from 'node:url';

export function parseUpstreams(raw) {
  const map = new Map();
  for (const item of (raw ?? '').split(',')) {
    const entry = item.trim();
    if (entry === '') continue;
    const match = /^([A-Za-z0-9_.-]+)=(\d{1,5})$/.exec(entry);
    if (!match) throw new Error(`UPSTREAMS: "${entry}" is not NAME=PORT`);
    const port = Number(match[2]);
    if (port < 1 || port > 65535) throw new Error(`UPSTREAMS: port ${port} out of range`);
    map.set(match[1], port);
  }
  return map;
}

function send(res, code, body) {
  const text = typeof body === 'string' ? body : JSON.stringify(body) + '\n';
  res.writeHead(code, {
    'content-type': typeof body === 'string' ? 'text/plain' : 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

async function callUpstream(config, name, rest) {
  const port = config.upstreams.get(name);
  if (port === undefined) {
    return [
      404,
      { service: config.name, error: `no upstream "${name}"`, known: [...config.upstreams.keys()] },
    ];
  }
  const url = `http://${config.upstreamHost}:${port}/${rest}`;
  try {
    const answer = await fetch(url, { signal: AbortSignal.timeout(config.callTimeoutMs) });
    const text = await answer.text();
    let body = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return [
      answer.ok ? 200 : 502,
      { service: config.name, upstream: name, status: answer.status, answer: body },
    ];
  } catch (err) {
    const reason =
      err instanceof Error
        ? err.cause instanceof Error
          ? err.cause.message
          : err.message
        : String(err);
    return [502, { service: config.name, upstream: name, error: `${url}: ${reason}` }];
  }
}

export function createDemoService(config) {
  return createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://local').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'GET only' });
    if (path === '/health') return send(res, 200, 'ok\n');
    if (path === '/') return send(res, 200, { service: config.name, host: hostname() });
    const slow = /^\/slow\/(\d{1,5})$/.exec(path);
    if (slow) {
      const ms = Math.min(Number(slow[1]), 60_000);
      console.log(JSON.stringify({ msg: 'slow request', service: config.name, ms }));
      setTimeout(() => send(res, 200, { service: config.name, sleptMs: ms }), ms);
      return undefined;
    }
    const call = /^\/call\/([^/]+)\/?(.*)$/.exec(path);
    if (call) {
      callUpstream(config, decodeURIComponent(call[1]), call[2]).then(([code, body]) =>
        send(res, code, body),
      );
      return undefined;
    }
    return send(res, 404, { service: config.name, error: `no route ${path}` });
  });
}

export function configFromEnv(env) {
  return {
    name: env.SERVICE_NAME || 'demo',
    port: Number(env.PORT ?? 8080),
    host: env.HOST || '127.0.0.1',
    upstreams: parseUpstreams(env.UPSTREAMS),
    upstreamHost: env.UPSTREAM_HOST || '127.0.0.1',
    callTimeoutMs: Number(env.CALL_TIMEOUT_MS ?? 5000),
  };
}

async function check(config) {
  const host = config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  try {
    const answer = await fetch(`http://${host}:${config.port}/health`, {
      signal: AbortSignal.timeout(2000),
    });
    return answer.status === 200 ? 0 : 1;
  } catch {
    return 1;
  }
}

async function main() {
  const config = configFromEnv(process.env);
  if (process.argv.includes('--check')) process.exit(await check(config));
  const server = createDemoService(config);
  server.listen(config.port, config.host, () => {
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : config.port;
    console.log(
      JSON.stringify({ msg: 'listening', service: config.name, host: config.host, port }),
    );
  });
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

const invoked = process.argv[1] ? pathToFileURL(realpathSync(process.argv[1])).href : '';
if (import.meta.url === invoked) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
