// The envoy double's static listeners with an http_connection_manager (a bootstrap written by
// hand, as in test/contract/envoy-admin.test.ts): plain HTTP/1.1, the route_config's first
// virtual host, routes by `match.prefix`/`match.path` to a static cluster's first host (or a
// `direct_response`), with Envoy 1.36's texts for the failures (recordings envoy-1.36.4).
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { createServer, request } from 'node:http';
import type { HostPort } from '../consul/connect/bootstrap.ts';

/** Envoy's default route timeout. */
const ROUTE_TIMEOUT_MS = 15_000;

type Json = Record<string, unknown>;

export interface Route {
  prefix?: string;
  path?: string;
  cluster?: string;
  prefixRewrite?: string;
  directStatus?: number;
  directBody?: string;
}

/** proto3 JSON accepts both spellings: `load_assignment` and `loadAssignment`. */
export function field<T>(o: unknown, snake: string): T | undefined {
  if (!o || typeof o !== 'object') return undefined;
  const camel = snake.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  const r = o as Json;
  return (r[snake] ?? r[camel]) as T | undefined;
}

/** The routes of a listener's http_connection_manager, or undefined when it has none. */
export function hcmRoutes(listener: unknown): Route[] | undefined {
  const chains = field<Json[]>(listener, 'filter_chains') ?? [];
  for (const chain of chains) {
    for (const f of field<Json[]>(chain, 'filters') ?? []) {
      if (f.name !== 'envoy.filters.network.http_connection_manager') continue;
      const hcm = field<Json>(f, 'typed_config');
      const vhost = field<Json[]>(field(hcm, 'route_config'), 'virtual_hosts')?.[0];
      return (field<Json[]>(vhost, 'routes') ?? []).map((r) => {
        const match = field<Json>(r, 'match') ?? {};
        const route = field<Json>(r, 'route');
        const direct = field<Json>(r, 'direct_response');
        return {
          prefix: field<string>(match, 'prefix'),
          path: field<string>(match, 'path'),
          cluster: field<string>(route, 'cluster'),
          prefixRewrite: field<string>(route, 'prefix_rewrite'),
          directStatus: direct ? Number(field(direct, 'status')) : undefined,
          directBody: field<string>(field(direct, 'body'), 'inline_string'),
        };
      });
    }
  }
  return undefined;
}

function send(res: ServerResponse, status: number, body: string): void {
  const headers: Record<string, string> = { server: 'envoy' };
  if (body) headers['content-type'] = 'text/plain';
  res.writeHead(status, headers).end(body);
}

/** An HTTP server answering as the listener's routes say; `hosts` gives a cluster's endpoints. */
export function httpListenerServer(
  routes: Route[],
  hosts: (cluster: string) => HostPort[] | undefined,
): HttpServer {
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    const path = url.split('?')[0] ?? '/';
    const route = routes.find((r) =>
      r.path !== undefined ? r.path === path : path.startsWith(r.prefix ?? ''),
    );
    if (!route) return send(res, 404, '');
    if (route.directStatus !== undefined) {
      return send(res, route.directStatus, route.directBody ?? '');
    }
    const host = route.cluster ? hosts(route.cluster)?.[0] : undefined;
    if (!host) return send(res, 503, 'no healthy upstream');
    const target =
      route.prefixRewrite !== undefined && route.prefix !== undefined
        ? route.prefixRewrite + url.slice(route.prefix.length)
        : url;
    const up = request(
      {
        host: host.address,
        port: host.port,
        method: req.method,
        path: target,
        headers: req.headers,
      },
      (upRes) => {
        clearTimeout(timer);
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    const timer = setTimeout(() => {
      up.destroy();
      if (!res.headersSent) send(res, 504, 'upstream request timeout');
    }, ROUTE_TIMEOUT_MS);
    up.on('error', () => {
      clearTimeout(timer);
      if (!res.headersSent) {
        send(
          res,
          503,
          'upstream connect error or disconnect/reset before headers. reset reason: connection failure',
        );
      } else res.destroy();
    });
    req.pipe(up);
  });
}
