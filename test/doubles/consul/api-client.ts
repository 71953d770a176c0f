// The slice of consul's Go `api` client the doubles use (the CLI, `consul connect envoy|proxy`,
// the envoy double's xDS emulation), with its error texts:
//   transport: Put "http://127.0.0.1:8500/v1/agent/leave": dial tcp 127.0.0.1:8500: connect: connection refused
//   non-2xx:   Unexpected response code: 404 (unknown service ID: nope-sidecar-proxy)
// One request per call: the real commands never retry.
import { request } from 'node:http';
import { dialError } from './dial-error.ts';

export class ApiError extends Error {}

/** `host:port` from a CONSUL_HTTP_ADDR-style value (`http://host:port`, `host:port`). */
function stripScheme(addr: string): string {
  return addr.replace(/^[a-z]+:\/\//i, '').replace(/\/+$/, '');
}

/** The agent's HTTP address from -http-addr, else CONSUL_HTTP_ADDR, else 127.0.0.1:8500. */
export function httpAddr(flag: string | undefined, env = process.env): string {
  return stripScheme(flag ?? env.CONSUL_HTTP_ADDR ?? '127.0.0.1:8500');
}

export class ConsulApi {
  constructor(
    /** host:port */
    readonly address: string,
    private readonly token = '',
  ) {}

  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  /** PUT, with `body` as JSON when given. */
  put<T>(path: string, body?: unknown): Promise<T> {
    return this.call<T>('PUT', path, body);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>('POST', path, body);
  }

  delete<T>(path: string): Promise<T> {
    return this.call<T>('DELETE', path);
  }

  /** One request; resolves the parsed JSON body (null when empty), rejects with ApiError. */
  private call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = `http://${this.address}${path}`;
    const goMethod = method.charAt(0) + method.slice(1).toLowerCase();
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise<T>((resolve, reject) => {
      const headers: Record<string, string> = {};
      if (this.token) headers['X-Consul-Token'] = this.token;
      if (payload !== undefined) headers['Content-Type'] = 'application/json';
      const req = request(url, { method, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => reject(new ApiError(`${goMethod} "${url}": ${e.message}`)));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status < 200 || status >= 300) {
            reject(new ApiError(`Unexpected response code: ${status} (${text})`));
            return;
          }
          try {
            resolve((text.trim() === '' ? null : JSON.parse(text)) as T);
          } catch (e) {
            reject(new ApiError((e as Error).message));
          }
        });
      });
      req.setTimeout(30_000, () =>
        req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })),
      );
      req.on('error', (e: NodeJS.ErrnoException) =>
        reject(new ApiError(`${goMethod} "${url}": ${dialError(e, this.address)}`)),
      );
      req.end(payload);
    });
  }
}

/** An entry of `GET /v1/agent/members` (Go's api.AgentMember). */
export interface AgentMember {
  Name: string;
  Addr: string;
  Port: number;
  Tags: Record<string, string>;
  Status: number;
  ProtocolMin: number;
  ProtocolMax: number;
  ProtocolCur: number;
  DelegateMin: number;
  DelegateMax: number;
  DelegateCur: number;
}

/** The fields of `GET /v1/agent/service/:id` and `/v1/agent/services` entries the commands read. */
export interface AgentService {
  Kind?: string;
  ID: string;
  Service: string;
  Port: number;
  Address: string;
  Datacenter?: string;
  Proxy?: {
    DestinationServiceName?: string;
    DestinationServiceID?: string;
    LocalServiceAddress?: string;
    LocalServicePort?: number;
    Upstreams?: Upstream[];
  };
}

export interface Upstream {
  DestinationType?: string;
  DestinationName: string;
  Datacenter?: string;
  LocalBindAddress?: string;
  LocalBindPort: number;
}
