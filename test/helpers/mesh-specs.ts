// The node specs of the original setup (server, cluster 1, cluster 2, ingress) for test hosts,
// the pieces they are built from, and the demo apps the sidecars stand beside. Used by
// test/e2e/mesh.test.ts and bench/lifecycle.ts.
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ENVOY_DOUBLE } from './doubles.ts';
import type { TestHost } from './netns.ts';

/** The demo app (images/demo-service/server.mjs): /health, / and /call/<upstream>. */
export const DEMO_SERVICE = fileURLToPath(
  new URL('../../images/demo-service/server.mjs', import.meta.url),
);

/**
 * The Envoy the e2e nodes run: ENVOY_BIN beside a real Consul (CONSUL_BIN), whose xDS gives it
 * its listeners; otherwise the envoy double, which emulates that xDS over the consul double's
 * HTTP API (a real Envoy beside the consul double would wait for listeners that never come).
 */
export const E2E_ENVOY =
  process.env.CONSUL_BIN && process.env.ENVOY_BIN ? process.env.ENVOY_BIN : ENVOY_DOUBLE;
/** True when the e2e nodes run the real Envoy. */
export const REAL_ENVOY = E2E_ENVOY !== ENVOY_DOUBLE;

export const STOP_SECONDS = 20;
export const MESH_TIMEOUTS = { readySeconds: 90, stopSeconds: STOP_SECONDS, drainSeconds: 1 };

export type ProxyMode = 'envoy' | 'builtin';

/**
 * Starts a demo app in the host's namespace (killed with it); upstreams as in UPSTREAMS. Its
 * stdout is a pipe: one JSON line when it listens, and one as each /slow/<ms> request begins.
 */
export function startApp(host: TestHost, name: string, port: number, upstreams = ''): ChildProcess {
  return host.spawn(process.execPath, [DEMO_SERVICE], {
    stdio: ['ignore', 'pipe', 'ignore'],
    env: { ...process.env, SERVICE_NAME: name, PORT: String(port), UPSTREAMS: upstreams },
  });
}

/** True when `pid` is a demo app (startApp): the processes a node's stop leaves running. */
export function isDemoApp(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('demo-service');
  } catch {
    return false;
  }
}

/** An http service `<name>-1` with a 1 s health check and a sidecar. */
export function httpService(name: string, port: number, upstreams: unknown[] = []) {
  return {
    name,
    id: `${name}-1`,
    port,
    protocol: 'http',
    check: { http: '/health', interval: '1s', timeout: '1s' },
    sidecar: { upstreams },
  };
}

/** The single server of our_dc, without config entries. */
export function serverSpec() {
  return {
    datacenter: 'our_dc',
    role: 'server',
    consul: { server: { bootstrapExpect: 1 } },
    timeouts: MESH_TIMEOUTS,
  };
}

/** A client joining `server` whose services get sidecars (E2E_ENVOY, or builtin proxies). */
export function meshClient(
  server: TestHost,
  services: unknown[],
  {
    mode = 'envoy',
    drainSeconds = MESH_TIMEOUTS.drainSeconds,
  }: {
    mode?: ProxyMode;
    drainSeconds?: number;
  } = {},
) {
  return {
    datacenter: 'our_dc',
    role: 'client',
    consul: { retryJoin: [server.ip], ports: { sidecarMinPort: 21000, sidecarMaxPort: 21005 } },
    services,
    proxy: { mode, envoyBinary: E2E_ENVOY },
    timeouts: { ...MESH_TIMEOUTS, drainSeconds },
  };
}

/**
 * The four nodes of the original setup: the server (with the intention users -> todos), cluster 1
 * (users with todos upstream on 1234, activities), cluster 2 (todos, notifications) and the
 * ingress gateway.
 */
export function meshSpecs(server: TestHost, mode: ProxyMode) {
  return {
    server: {
      ...serverSpec(),
      configEntries: [
        {
          Kind: 'service-intentions',
          Name: 'todos',
          Sources: [{ Name: 'users', Action: 'allow' }],
        },
      ],
    },
    cluster1: meshClient(
      server,
      [
        httpService('users', 8080, [{ service: 'todos', localPort: 1234 }]),
        httpService('activities', 8081),
      ],
      { mode },
    ),
    cluster2: meshClient(server, [httpService('todos', 8080), httpService('notifications', 8081)], {
      mode,
    }),
    ingress: {
      datacenter: 'our_dc',
      role: 'client',
      consul: { retryJoin: [server.ip] },
      gateways: [
        {
          kind: 'ingress',
          name: 'ingress-service',
          port: 8888,
          listeners: [{ port: 8080, protocol: 'http', services: ['*'] }],
        },
      ],
      proxy: { envoyBinary: E2E_ENVOY },
      timeouts: MESH_TIMEOUTS,
    },
  };
}
