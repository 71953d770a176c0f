// Real HTTP and TCP health checks, run on their interval like the 1.10 agent: the first run after
// a random delay of up to one interval, outputs worded as Go's net/http and net would word them.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { dialError } from './dial-error.ts';
import type { CheckDef, CheckStatus } from './services.ts';

export interface CheckResult {
  status: CheckStatus;
  output: string;
  /** A log line the agent prints for this run (WARN), if any. */
  socketError?: string;
}

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'No Content',
  301: 'Moved Permanently',
  302: 'Found',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export function runHttpCheck(def: CheckDef): Promise<CheckResult> {
  const url = def.HTTP as string;
  return new Promise((resolve) => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      resolve({ status: 'critical', output: `parse "${url}": invalid URL` });
      return;
    }
    const hostPort = `${parsed.hostname}:${parsed.port || (parsed.protocol === 'https:' ? 443 : 80)}`;
    const headers: Record<string, string> = {
      'User-Agent': 'Consul Health Check',
      Accept: 'text/plain, text/*, */*',
    };
    for (const [k, v] of Object.entries(def.Header ?? {})) headers[k] = v.join(', ');
    const req = (parsed.protocol === 'https:' ? httpsRequest : httpRequest)(
      url,
      { method: def.Method ?? 'GET', headers, rejectUnauthorized: !def.TLSSkipVerify },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < 4096) chunks.push(c);
          size += c.length;
        });
        res.on('end', () => {
          clearTimeout(timer);
          const code = res.statusCode ?? 0;
          const body = Buffer.concat(chunks).toString('utf8').slice(0, 4096);
          const output = `HTTP ${def.Method ?? 'GET'} ${url}: ${code} ${res.statusMessage || STATUS_TEXT[code] || ''} Output: ${body}`;
          const status: CheckStatus =
            code >= 200 && code <= 299 ? 'passing' : code === 429 ? 'warning' : 'critical';
          resolve({ status, output });
        });
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      resolve({
        status: 'critical',
        output: `Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`,
      });
    }, def.TimeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const method = (def.Method ?? 'GET').toLowerCase();
      const verb = method.charAt(0).toUpperCase() + method.slice(1);
      resolve({ status: 'critical', output: `${verb} "${url}": ${dialError(err, hostPort)}` });
    });
    if (def.Body) req.write(def.Body);
    req.end();
  });
}

export function runTcpCheck(def: CheckDef): Promise<CheckResult> {
  const addr = def.TCP as string;
  const idx = addr.lastIndexOf(':');
  const host = addr.slice(0, idx).replace(/^\[|\]$/g, '');
  const port = Number(addr.slice(idx + 1));
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const timer = setTimeout(() => {
      sock.destroy();
      const output = `dial tcp ${addr}: i/o timeout`;
      resolve({ status: 'critical', output, socketError: output });
    }, def.TimeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ status: 'passing', output: `TCP connect ${addr}: Success` });
    });
    sock.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const output = dialError(err, addr);
      resolve({ status: 'critical', output, socketError: output });
    });
  });
}

/** Runs one HTTP/TCP check on its interval until stopped. */
export class CheckLoop {
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly def: CheckDef,
    private readonly onResult: (r: CheckResult) => void,
  ) {}

  start(): void {
    const first = Math.random() * this.def.IntervalMs;
    this.timer = setTimeout(() => void this.tick(), first);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const r = this.def.Type === 'http' ? await runHttpCheck(this.def) : await runTcpCheck(this.def);
    if (this.stopped) return;
    this.onResult(r);
    this.timer = setTimeout(() => void this.tick(), this.def.IntervalMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
