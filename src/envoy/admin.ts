// Envoy's admin API, the calls a node needs (contract §6): readiness, and the graceful drain
// of a stop. Mutations are POST: Envoy answers a GET on them with 400 and does nothing.
import { connect } from 'node:net';
import { httpRequest, type HttpAnswer } from '../net/http.ts';

export class EnvoyAdmin {
  constructor(
    /** host:port of Envoy's admin listener (-admin-bind). */
    readonly address: string,
    private readonly timeoutMs = 2000,
  ) {}

  /** True when `GET /ready` answers 200 LIVE; false while PRE_INITIALIZING/INITIALIZING/DRAINING or unreachable. */
  async isLive(signal?: AbortSignal): Promise<boolean> {
    try {
      const res = await this.request('GET', '/ready', signal);
      return res.status === 200 && res.body.trim() === 'LIVE';
    } catch {
      return false;
    }
  }

  /** Stop accepting new inbound connections and let existing ones finish (--drain-time-s). */
  async drainInbound(): Promise<void> {
    this.expectOk(await this.request('POST', '/drain_listeners?inboundonly&graceful'));
  }

  /** Clean exit. */
  async quit(): Promise<void> {
    this.expectOk(await this.request('POST', '/quitquitquit'));
  }

  private request(method: string, path: string, signal?: AbortSignal): Promise<HttpAnswer> {
    return httpRequest(`http://${this.address}${path}`, {
      method,
      timeoutMs: this.timeoutMs,
      signal,
    });
  }

  private expectOk(res: HttpAnswer): void {
    if (res.status !== 200) {
      throw new Error(`envoy admin ${this.address}: ${res.status} ${res.body.trim()}`);
    }
  }
}

/** True when something accepts a TCP connection at host:port (the built-in proxy's listener). */
export function acceptsTcp(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}
