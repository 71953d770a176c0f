// Envoy's admin API, the calls a node needs (contract §6): readiness, and the graceful drain
// of a stop. Mutations are POST: Envoy 1.36 answers a GET on them with 405 and does nothing.
import { httpRequest, type HttpAnswer } from '../net/http.ts';

export class EnvoyAdmin {
  constructor(
    /** host:port of Envoy's admin listener (-admin-bind). */
    readonly address: string,
    private readonly timeoutMs = 2000,
  ) {}

  /**
   * True when `GET /ready` answers 200 LIVE and `GET /listeners` holds a listener whose name
   * starts with `listenerPrefix` (a sidecar's `public_listener:`; '' for any). LIVE alone proves
   * nothing: Envoy finishes its init over a rejected listener update, and the real 1.36.4 said
   * LIVE with no listener at all when Consul 1.10's name-only router was refused.
   */
  async isServing(listenerPrefix: string, signal?: AbortSignal): Promise<boolean> {
    try {
      const ready = await this.request('GET', '/ready', signal);
      if (ready.status !== 200 || ready.body.trim() !== 'LIVE') return false;
      const listeners = await this.request('GET', '/listeners', signal);
      return (
        listeners.status === 200 &&
        listeners.body.split('\n').some((l) => l.includes('::') && l.startsWith(listenerPrefix))
      );
    } catch {
      return false;
    }
  }

  /**
   * Starts the drain sequence (--drain-time-s) on inbound listeners: they still accept, and
   * HTTP connections are asked to close (`Connection: close`, GOAWAY) so clients go elsewhere.
   */
  async drainInbound(): Promise<void> {
    this.expectOk(await this.request('POST', '/drain_listeners?inboundonly&graceful'));
  }

  /**
   * Closes the inbound listeners now, even inside a drain sequence: no new connection is
   * accepted; existing ones go on (Envoy's draining docs; source/server/admin/listeners_handler.cc).
   */
  async closeInbound(): Promise<void> {
    this.expectOk(await this.request('POST', '/drain_listeners?inboundonly'));
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
