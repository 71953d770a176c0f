// The data path of the doubles' mesh: the built-in proxy (`consul connect proxy`) and the envoy
// double carry real bytes, but over PLAIN TCP instead of mTLS. In place of the client
// certificate, the source side sends one line first:
//   CONNECT-DOUBLE/1 spiffe://<trust domain>/ns/default/dc/<dc>/svc/<source service>\n
// A public listener that does not get that line closes the connection with no bytes, as the real
// one does to a plain (non-TLS) client (06-builtin-proxy/curl-02: "Empty reply from server").
// It then asks its agent `POST /v1/agent/connect/authorize` (intentions); a deny closes the
// connection with no bytes (curl-04), an allow forwards to the local app.
import type { Server, Socket } from 'node:net';
import { connect, createServer } from 'node:net';
import type { ConsulApi } from '../api-client.ts';
import type { HostPort } from './bootstrap.ts';

export const PREAMBLE = 'CONNECT-DOUBLE/1 ';
const MAX_PREAMBLE = 2048;
const PREAMBLE_TIMEOUT_MS = 10_000;

export type MeshLog = (
  level: 'INFO' | 'WARN' | 'ERROR',
  module: string,
  msg: string,
  fields?: Record<string, string>,
) => void;

export interface Identity {
  trustDomain: string;
  datacenter: string;
}

export function spiffeUri(id: Identity, service: string): string {
  return `spiffe://${id.trustDomain}/ns/default/dc/${id.datacenter}/svc/${service}`;
}

/** The agent's trust domain (`GET /v1/connect/ca/roots`), or a fixed stand-in. */
export async function trustDomain(api: ConsulApi): Promise<string> {
  try {
    const roots = await api.get<{ TrustDomain?: string }>('/v1/connect/ca/roots');
    if (roots?.TrustDomain) return roots.TrustDomain;
  } catch {
    // the agent double may not serve the CA; identities only need to be consistent
  }
  return '11111111-2222-3333-4444-555555555555.consul';
}

/** Joins two sockets both ways, half-closes propagated, either error tears both down. */
function splice(a: Socket, b: Socket): void {
  const kill = () => {
    a.destroy();
    b.destroy();
  };
  a.on('error', kill);
  b.on('error', kill);
  a.on('close', () => b.destroy());
  b.on('close', () => a.destroy());
  a.pipe(b);
  b.pipe(a);
}

function dial(hp: HostPort): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: hp.address, port: hp.port, allowHalfOpen: true });
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

function listen(server: Server, bind: HostPort): Promise<Server> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: bind.address, port: bind.port, exclusive: true }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/** Reads the preamble line; resolves the client URI and the bytes that followed it. */
function readPreamble(sock: Socket): Promise<{ uri: string; rest: Buffer } | null> {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    const done = (v: { uri: string; rest: Buffer } | null) => {
      sock.pause();
      clearTimeout(timer);
      sock.off('data', onData);
      sock.off('end', onEnd);
      resolve(v);
    };
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const nl = buf.indexOf(0x0a);
      if (nl < 0) {
        if (buf.length > MAX_PREAMBLE) done(null);
        return;
      }
      const line = buf.subarray(0, nl).toString('utf8');
      done(
        line.startsWith(PREAMBLE)
          ? { uri: line.slice(PREAMBLE.length), rest: buf.subarray(nl + 1) }
          : null,
      );
    };
    const onEnd = () => done(null);
    const timer = setTimeout(() => done(null), PREAMBLE_TIMEOUT_MS);
    sock.on('data', onData);
    sock.on('end', onEnd);
  });
}

/** Intentions as the destination's agent decides them; an agent without the endpoint allows. */
async function authorize(
  api: ConsulApi,
  target: string,
  uri: string,
): Promise<{ ok: boolean; reason: string }> {
  try {
    const r = await api.post<{ Authorized: boolean; Reason: string }>(
      '/v1/agent/connect/authorize',
      {
        Target: target,
        ClientCertURI: uri,
        ClientCertSerial: '00',
      },
    );
    return { ok: r.Authorized, reason: r.Reason };
  } catch {
    const source = /\/svc\/([^/]+)$/.exec(uri)?.[1] ?? '';
    try {
      const r = await api.get<{ Allowed: boolean }>(
        `/v1/connect/intentions/check?source=${encodeURIComponent(source)}&destination=${encodeURIComponent(target)}`,
      );
      return {
        ok: r.Allowed,
        reason: r.Allowed ? 'allowed' : `intention denies ${source} => ${target}`,
      };
    } catch {
      return { ok: true, reason: 'ACLs disabled, access is allowed by default' };
    }
  }
}

export interface PublicListenerOptions {
  bind: HostPort;
  /** LocalServiceAddress:LocalServicePort */
  local: HostPort;
  /** The destination service name (the authorize Target). */
  service: string;
  api: ConsulApi;
  log: MeshLog;
}

/** The sidecar's public listener: preamble, authorize, then the local app. */
export function publicListener(o: PublicListenerOptions): Promise<Server> {
  const server = createServer({ allowHalfOpen: true }, (sock) => {
    sock.on('error', () => sock.destroy());
    void (async () => {
      const pre = await readPreamble(sock);
      if (!pre) {
        sock.destroy();
        return;
      }
      const authz = await authorize(o.api, o.service, pre.uri);
      if (!authz.ok) {
        o.log('ERROR', 'proxy.connect', 'authz call denied', {
          service: o.service,
          reason: authz.reason,
        });
        sock.destroy();
        return;
      }
      let app: Socket;
      try {
        app = await dial(o.local);
      } catch (e) {
        o.log('ERROR', 'proxy.connect', 'failed to dial local app', {
          error: (e as Error).message,
        });
        sock.destroy();
        return;
      }
      if (pre.rest.length) app.write(pre.rest);
      splice(sock, app);
      sock.resume();
    })();
  });
  return listen(server, o.bind);
}

interface HealthEntry {
  Node: { Address: string };
  Service: { Address: string; Port: number };
}

interface CatalogEntry {
  Address: string;
  ServiceAddress: string;
  ServicePort: number;
}

/** A healthy instance of `<dest>-sidecar-proxy`: /v1/health/connect/<dest>?passing, else the catalog. */
export async function resolveUpstream(
  api: ConsulApi,
  dest: string,
  dc?: string,
): Promise<HostPort[]> {
  const dcq = dc ? `&dc=${encodeURIComponent(dc)}` : '';
  try {
    const entries = await api.get<HealthEntry[]>(
      `/v1/health/connect/${encodeURIComponent(dest)}?passing${dcq}`,
    );
    return (entries ?? []).map((e) => ({
      address: e.Service.Address || e.Node.Address,
      port: e.Service.Port,
    }));
  } catch {
    const entries = await api.get<CatalogEntry[]>(
      `/v1/catalog/service/${encodeURIComponent(`${dest}-sidecar-proxy`)}?${dcq.slice(1)}`,
    );
    return (entries ?? []).map((e) => ({
      address: e.ServiceAddress || e.Address,
      port: e.ServicePort,
    }));
  }
}

export interface UpstreamListenerOptions {
  bind: HostPort;
  destination: string;
  datacenter?: string;
  /** This proxy's own SPIFFE URI, sent as the preamble. */
  sourceUri: string;
  api: ConsulApi;
  log: MeshLog;
}

/** An upstream listener: each connection goes to a healthy destination sidecar. */
export function upstreamListener(o: UpstreamListenerOptions): Promise<Server> {
  const server = createServer({ allowHalfOpen: true }, (sock) => {
    sock.pause();
    sock.on('error', () => sock.destroy());
    void (async () => {
      let remote: Socket;
      try {
        const targets = await resolveUpstream(o.api, o.destination, o.datacenter);
        const target = targets[Math.floor(Math.random() * targets.length)];
        if (!target) throw new Error(`no healthy instances of ${o.destination}`);
        remote = await dial(target);
      } catch (e) {
        o.log('ERROR', 'proxy.upstream', 'connection failed', { error: (e as Error).message });
        sock.destroy();
        return;
      }
      remote.write(`${PREAMBLE}${o.sourceUri}\n`);
      splice(sock, remote);
      sock.resume();
    })();
  });
  return listen(server, o.bind);
}
