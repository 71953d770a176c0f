// The slice of consul's Go `api` client the CLI double uses, with its error texts:
//   transport: Put "http://127.0.0.1:8500/v1/agent/leave": dial tcp 127.0.0.1:8500: connect: connection refused
//   non-2xx:   Unexpected response code: 500 (<body>)
import { request } from 'node:http';
import { dialError } from './checks.ts';

export class ApiError extends Error {}

/** host:port from -http-addr, else CONSUL_HTTP_ADDR, else 127.0.0.1:8500 (scheme stripped). */
export function httpAddr(flag: string | undefined, env = process.env): string {
  return (flag ?? env.CONSUL_HTTP_ADDR ?? '127.0.0.1:8500')
    .replace(/^[a-z]+:\/\//i, '')
    .replace(/\/+$/, '');
}

export class ConsulApi {
  constructor(
    readonly address: string,
    private readonly token = '',
  ) {}

  /** One request; resolves the parsed JSON body (null when empty), rejects with ApiError. */
  call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = `http://${this.address}${path}`;
    const goMethod = method.charAt(0) + method.slice(1).toLowerCase();
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise<T>((resolve, reject) => {
      const headers: Record<string, string> = {};
      if (this.token) headers['X-Consul-Token'] = this.token;
      const req = request(url, { method, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
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
      req.on('error', (e: NodeJS.ErrnoException) =>
        reject(new ApiError(`${goMethod} "${url}": ${dialError(e, this.address)}`)),
      );
      req.end(payload);
    });
  }

  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  put<T>(path: string, body?: unknown): Promise<T> {
    return this.call<T>('PUT', path, body);
  }
}
