// The doctor's probes, each with a deadline: can this machine bind a port, does a remote port
// accept TCP, what does an HTTP endpoint answer, what does a name resolve to. None of them starts
// a program.
import { createSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { request as httpRequestRaw } from 'node:http';
import { createServer, isIP } from 'node:net';
import { tcpConnect, type ConnectResult } from '../net/index.ts';

export { tcpConnect, type ConnectResult };

/** TCP connect and HTTP request deadline. */
export const NETWORK_TIMEOUT_MS = 1500;

export type BindResult = { free: true } | { free: false; code: string; reason: string };

/** Whether this process could listen on host:port right now (then it lets go at once). */
export function canBind(host: string, port: number, protocol: 'tcp' | 'udp'): Promise<BindResult> {
  return protocol === 'tcp' ? canBindTcp(host, port) : canBindUdp(host, port);
}

function canBindTcp(host: string, port: number): Promise<BindResult> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(bindFailure(err)));
    server.listen({ host, port, exclusive: true }, () => {
      server.close(() => resolve({ free: true }));
    });
  });
}

function canBindUdp(host: string, port: number): Promise<BindResult> {
  return new Promise((resolve) => {
    const socket = createSocket({ type: isIP(host) === 6 ? 'udp6' : 'udp4' });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      socket.close();
      resolve(bindFailure(err));
    });
    socket.bind({ address: host, port, exclusive: true }, () => {
      socket.close(() => resolve({ free: true }));
    });
  });
}

function bindFailure(err: NodeJS.ErrnoException): BindResult {
  const code = err.code ?? 'ERROR';
  const reasons: Record<string, string> = {
    EADDRINUSE: 'in use',
    EADDRNOTAVAIL: 'the address is not on this machine',
    EACCES:
      'permission denied (a port below 1024 needs root or net.ipv4.ip_unprivileged_port_start)',
  };
  return { free: false, code, reason: reasons[code] ?? err.message };
}

export interface HttpAnswer {
  status: number;
  /** Lower-case names; a repeated header's values joined with ", ". */
  headers: ReadonlyMap<string, string>;
  body: string;
  /** performance.now() when the request was sent and when the answer's headers arrived. */
  sentAt: number;
  receivedAt: number;
  /** Date.now() at sentAt (for the clock check). */
  sentWallMs: number;
}

/**
 * One HTTP request with a deadline; rejects with a one-line reason when no answer came. Plain
 * node:http rather than fetch: at the deadline the socket is destroyed at once, where an aborted
 * fetch may leave its connect pending (an unanswered ARP keeps the process alive ~3 s); and
 * nothing of undici (fetch, Headers), whose llhttp needs WebAssembly, which the bundle's
 * --lite-mode turns off.
 */
export function httpRequest(
  url: string,
  options: { method?: string; token?: string; body?: string; timeoutMs?: number } = {},
): Promise<HttpAnswer> {
  const timeoutMs = options.timeoutMs ?? NETWORK_TIMEOUT_MS;
  const sentWallMs = Date.now();
  const sentAt = performance.now();
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (options.token) headers['X-Consul-Token'] = options.token;
    if (options.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(options.body));
    }
    const req = httpRequestRaw(url, { method: options.method ?? 'GET', headers, agent: false });
    const timer = setTimeout(() => {
      req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    req.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(err.code ?? err.message));
    });
    req.once('response', (res) => {
      const receivedAt = performance.now();
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      res.once('end', () => {
        clearTimeout(timer);
        const answerHeaders = new Map<string, string>();
        for (const [name, value] of Object.entries(res.headers)) {
          if (value !== undefined)
            answerHeaders.set(name, Array.isArray(value) ? value.join(', ') : value);
        }
        resolve({
          status: res.statusCode ?? 0,
          headers: answerHeaders,
          body,
          sentAt,
          receivedAt,
          sentWallMs,
        });
      });
    });
    req.end(options.body);
  });
}

/** The IPv4 (or IPv6) addresses of a host name, or of an IP literal itself; with a deadline. */
export async function resolveHost(
  host: string,
  timeoutMs = NETWORK_TIMEOUT_MS,
): Promise<{ addresses: string[] } | { error: string }> {
  if (isIP(host)) return { addresses: [host] };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ error: string }>((resolve) => {
    timer = setTimeout(
      () => resolve({ error: `the name did not resolve within ${timeoutMs / 1000} s` }),
      timeoutMs,
    );
  });
  const answer = lookup(host, { all: true }).then(
    (found) => ({ addresses: found.map((a) => a.address) }),
    (err: NodeJS.ErrnoException) => ({
      error: err.code === 'ENOTFOUND' ? 'the name does not resolve (ENOTFOUND)' : err.message,
    }),
  );
  try {
    return await Promise.race([answer, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
