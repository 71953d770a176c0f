// One HTTP/1.1 exchange over node:http, for every call meshvisor makes: the Consul agent's API,
// Envoy's admin API, ECS task metadata, the doctor's probes. Not `fetch`: global fetch loads
// undici (its JavaScript and its llhttp WebAssembly), which kept ~8 MiB more resident in
// meshvisor's process than node:http, which the status endpoint loads anyway (bench/README.md,
// "where the memory goes"); and under the bundle's --lite-mode there is no WebAssembly, so nothing
// of undici (fetch, Headers) works. No keep-alive: every exchange has its own connection, so no
// idle socket is held between polls and none can be reset under a reused request.
import { request } from 'node:http';

export interface HttpAnswer {
  status: number;
  /** Lower-case names; a repeated header's values joined with ", ". */
  headers: ReadonlyMap<string, string>;
  body: string;
}

export interface HttpRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** One deadline for the whole exchange (connect, send, the whole answer). */
  timeoutMs: number;
  /** Ends the exchange early; it then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Counted in requestsSent under this name (consul, envoy): what a node costs its peers. */
  countAs?: string;
}

/** Requests sent since the process started, by the `countAs` of each (for /metrics). */
const sent = new Map<string, number>();

export function requestsSent(): Record<string, number> {
  return Object.fromEntries(sent);
}

/**
 * A failed exchange: no answer, or an answer cut short. `code` is the system error's
 * (ECONNREFUSED, ECONNRESET, EHOSTUNREACH...), or ETIMEDOUT when the deadline passed.
 */
export class HttpRequestError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'HttpRequestError';
  }
}

/** Sends one request to an http:// URL and reads the whole answer as UTF-8, whatever its status. */
export function httpRequest(url: string, options: HttpRequestOptions): Promise<HttpAnswer> {
  const { method = 'GET', headers = {}, body, timeoutMs, signal, countAs } = options;
  if (countAs !== undefined) sent.set(countAs, (sent.get(countAs) ?? 0) + 1);
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    let settled = false;
    const finish = (error: unknown, answer?: HttpAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (answer) resolve(answer);
      else reject(error);
    };
    const fail = (err: NodeJS.ErrnoException) =>
      finish(
        err instanceof HttpRequestError
          ? err
          : new HttpRequestError(err.message || (err.code ?? 'request failed'), err.code ?? 'EIO'),
      );
    const sent = body === undefined ? undefined : Buffer.from(body);
    const req = request(
      url,
      {
        method,
        agent: false,
        headers: sent ? { ...headers, 'Content-Length': String(sent.length) } : headers,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const answerHeaders = new Map<string, string>();
          for (const [name, value] of Object.entries(res.headers)) {
            if (value !== undefined)
              answerHeaders.set(name, Array.isArray(value) ? value.join(', ') : value);
          }
          finish(null, {
            status: res.statusCode ?? 0,
            headers: answerHeaders,
            body: Buffer.concat(chunks).toString(),
          });
        });
        res.on('error', fail);
        res.on('close', () => {
          if (!res.complete) fail(new HttpRequestError('the answer was cut short', 'ECONNRESET'));
        });
      },
    );
    const timer = setTimeout(
      () => req.destroy(new HttpRequestError(`no answer within ${timeoutMs} ms`, 'ETIMEDOUT')),
      timeoutMs,
    );
    const onAbort = () => {
      finish(signal!.reason);
      req.destroy();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', fail);
    req.end(sent);
  });
}
