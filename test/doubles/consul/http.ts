// HTTP plumbing shared by the agent's API and the doubles' internal "gossip" listener.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { goStringify } from './gojson.ts';

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  /** A string is sent as text/plain; anything else as JSON. */
  body?: unknown;
  /** Send the JSON body even when it is a string (e.g. `""` from /v1/status/leader). */
  json?: boolean;
  /** Written by the handler itself in 1.10 (e.g. the ACL bootstrap refusal): no Request error line. */
  quiet?: boolean;
}

export interface Req {
  method: string;
  path: string;
  query: URLSearchParams;
  body: string;
  remote: string;
  /** The caller's ACL token ('' = none: anonymous, or the agent's default token). */
  token: string;
}

export const text = (status: number, body: string, headers?: Record<string, string>): Reply => ({
  status,
  body,
  ...(headers ? { headers } : {}),
});
export const json = (body: unknown, headers?: Record<string, string>): Reply => ({
  status: 200,
  body,
  json: true,
  ...(headers ? { headers } : {}),
});

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * The token as 1.10's parseToken finds it: `?token=`, else `X-Consul-Token`, else
 * `Authorization: Bearer <t>` (first word after the scheme); '' when there is none.
 */
export function tokenOf(url: URL, headers: IncomingMessage['headers']): string {
  const query = url.searchParams.get('token');
  if (query) return query;
  const header = headers['x-consul-token'];
  if (typeof header === 'string' && header) return header;
  const [scheme, ...rest] = (headers.authorization ?? '').split(' ');
  if (rest.length > 0 && scheme?.toLowerCase() === 'bearer')
    return rest.join(' ').trim().split(' ')[0] ?? '';
  return '';
}

export async function toReq(req: IncomingMessage): Promise<Req> {
  const url = new URL(req.url ?? '/', 'http://double');
  return {
    method: req.method ?? 'GET',
    path: url.pathname,
    query: url.searchParams,
    body: await readBody(req),
    remote: `${req.socket.remoteAddress ?? ''}:${req.socket.remotePort ?? 0}`,
    token: tokenOf(url, req.headers),
  };
}

/** Writes a Reply the way the 1.10 HTTP server does (JSON or text/plain error). */
export function send(res: ServerResponse, r: Reply, pretty: boolean): void {
  const headers: Record<string, string> = {
    Vary: 'Accept-Encoding',
    'X-Consul-Default-Acl-Policy': 'allow',
    ...(r.headers ?? {}),
  };
  let payload = '';
  if (r.body === undefined) {
    payload = '';
  } else if (typeof r.body === 'string' && !r.json) {
    headers['Content-Type'] = 'text/plain; charset=utf-8';
    payload = r.body;
  } else {
    headers['Content-Type'] = 'application/json';
    payload = goStringify(r.body, pretty);
  }
  res.writeHead(r.status, headers);
  res.end(payload);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
