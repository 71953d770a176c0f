// The doctor's probes, each with a deadline: can this machine bind a port, what does an HTTP
// endpoint answer (timed, for the clock check), what does a name resolve to. TCP connects are
// src/net/tcp.ts's, HTTP exchanges src/net/http.ts's. None of them starts a program.
import { createSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { createServer, isIP } from 'node:net';
import {
  httpRequest as exchange,
  type HttpAnswer as NetHttpAnswer,
  HttpRequestError,
} from '../net/http.ts';

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

export interface HttpAnswer extends NetHttpAnswer {
  /** performance.now() when the request was sent and when the answer had come. */
  sentAt: number;
  receivedAt: number;
  /** Date.now() at sentAt (for the clock check). */
  sentWallMs: number;
}

/**
 * One HTTP request with a deadline (src/net/http.ts, timed for the clock check); rejects with a
 * one-line reason when no answer came.
 */
export async function httpRequest(
  url: string,
  options: { method?: string; token?: string; body?: string; timeoutMs?: number } = {},
): Promise<HttpAnswer> {
  const timeoutMs = options.timeoutMs ?? NETWORK_TIMEOUT_MS;
  const headers: Record<string, string> = {};
  if (options.token) headers['X-Consul-Token'] = options.token;
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  const sentWallMs = Date.now();
  const sentAt = performance.now();
  try {
    const answer = await exchange(url, {
      method: options.method,
      headers,
      body: options.body,
      timeoutMs,
    });
    return { ...answer, sentAt, receivedAt: performance.now(), sentWallMs };
  } catch (err) {
    if (!(err instanceof HttpRequestError)) throw err;
    if (err.code === 'ETIMEDOUT') throw new Error(`no answer within ${timeoutMs / 1000} s`);
    // The system error's code (ECONNREFUSED...) is the reason; without one, its message.
    throw new Error(err.code === 'EIO' ? err.message : err.code);
  }
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
