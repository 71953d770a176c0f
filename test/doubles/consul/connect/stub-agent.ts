// Test support, not part of any double: a tiny agent HTTP API that answers from the RECORDED
// responses (05-connect-envoy, 03-client-services, 06-builtin-proxy), so `connect envoy`,
// `connect proxy` and the envoy double can be tested without the agent double. It logs every
// request (method + URL), so tests can assert the lookup order and the absence of retries.
import { readFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { AgentService } from '../api-client.ts';

export const RECORDINGS = join(
  import.meta.dirname,
  '../../../../../shared/recordings/consul-1.10.12',
);

/** `body_json` of a recorded http exchange (or the whole file for other JSON). */
export function recorded<T = unknown>(rel: string): T {
  const doc = JSON.parse(readFileSync(join(RECORDINGS, rel), 'utf8')) as { body_json?: T };
  return (doc.body_json ?? doc) as T;
}

export interface StubAgentOptions {
  services?: Record<string, AgentService>;
  grpcPort?: number;
  /** `GET /v1/health/connect/<name>` answers, keyed by name. */
  healthConnect?: Record<string, unknown[]>;
  /** Sources denied by intentions (`POST /v1/agent/connect/authorize`), as "src=>dst". */
  denied?: Set<string>;
  trustDomain?: string;
  /** service-defaults Protocol by service name (`GET /v1/config/service-defaults/<name>`). */
  protocols?: Record<string, string>;
}

export interface StubAgent {
  address: string;
  requests: string[];
  registrations: unknown[];
  services: Record<string, AgentService>;
  options: StubAgentOptions;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: unknown, json = true): void {
  res.writeHead(status, {
    'Content-Type': json ? 'application/json' : 'text/plain; charset=utf-8',
  });
  res.end(json ? JSON.stringify(body) : String(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startStubAgent(
  options: StubAgentOptions = {},
  host = '127.0.0.1',
): Promise<StubAgent> {
  const services: Record<string, AgentService> =
    options.services ?? recorded('05-connect-envoy/gateway-before.agent-services.json');
  const requests: string[] = [];
  const registrations: unknown[] = [];
  const self = recorded<{ DebugConfig: { GRPCPort: number } }>(
    '01-server-start/restart-with-existing-data-dir/client-c1.agent-self.full.json',
  );
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = req.url ?? '/';
      requests.push(`${req.method} ${url}`);
      const path = decodeURIComponent(url.split('?')[0] as string);
      const body = await readBody(req);
      if (req.method === 'GET' && path === '/v1/agent/services') return send(res, 200, services);
      if (req.method === 'GET' && path === '/v1/agent/self') {
        const grpc = options.grpcPort ?? self.DebugConfig.GRPCPort;
        return send(res, 200, { ...self, DebugConfig: { ...self.DebugConfig, GRPCPort: grpc } });
      }
      const svc = /^\/v1\/agent\/service\/(.+)$/.exec(path);
      if (req.method === 'GET' && svc && svc[1] !== 'register') {
        const s = services[svc[1] as string];
        if (!s) return send(res, 404, `unknown service ID: ${svc[1]}`, false);
        return send(res, 200, { ...s, ContentHash: 'b721ab23c1bcbc68' });
      }
      if (req.method === 'PUT' && path === '/v1/agent/service/register') {
        const r = JSON.parse(body) as {
          Kind: string;
          ID: string;
          Name: string;
          Address: string;
          Port: number;
        };
        registrations.push(r);
        services[r.ID] = {
          Kind: r.Kind,
          ID: r.ID,
          Service: r.Name,
          Port: r.Port,
          Address: r.Address,
          Datacenter: 'our_dc',
        };
        return send(res, 200, '', false);
      }
      const health = /^\/v1\/health\/connect\/(.+)$/.exec(path);
      if (req.method === 'GET' && health) {
        return send(res, 200, options.healthConnect?.[health[1] as string] ?? []);
      }
      const defaults = /^\/v1\/config\/service-defaults\/(.+)$/.exec(path);
      if (req.method === 'GET' && defaults) {
        const name = defaults[1] as string;
        const protocol = options.protocols?.[name];
        if (!protocol)
          return send(res, 404, `Config entry not found for "service-defaults" / "${name}"`, false);
        return send(res, 200, { Kind: 'service-defaults', Name: name, Protocol: protocol });
      }
      if (req.method === 'GET' && path === '/v1/connect/ca/roots') {
        return send(res, 200, { TrustDomain: options.trustDomain ?? 'ca3d5763-test.consul' });
      }
      if (req.method === 'POST' && path === '/v1/agent/connect/authorize') {
        const a = JSON.parse(body) as { Target: string; ClientCertURI: string };
        const src = /\/svc\/([^/]+)$/.exec(a.ClientCertURI)?.[1] ?? '';
        const deny = options.denied?.has(`${src}=>${a.Target}`) ?? false;
        return send(res, 200, {
          Authorized: !deny,
          Reason: deny
            ? `Matched L4 intention: default/${src} => default/${a.Target} (Precedence: 9, Action: DENY)`
            : 'ACLs disabled, access is allowed by default',
        });
      }
      send(res, 404, 'not recorded', false);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `${host}:${port}`,
    requests,
    registrations,
    services,
    options,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
