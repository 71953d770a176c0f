// Envoy's admin API, the calls a node needs (contract §6): readiness, and the graceful drain
// of a stop. Mutations are POST: Envoy answers a GET on them with 400 and does nothing.

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
      return res.status === 200 && (await res.text()).trim() === 'LIVE';
    } catch {
      return false;
    }
  }

  /**
   * Starts the drain sequence (--drain-time-s) on inbound listeners: they still accept, and
   * HTTP connections are asked to close (`Connection: close`, GOAWAY) so clients go elsewhere.
   */
  async drainInbound(): Promise<void> {
    await this.expectOk(await this.request('POST', '/drain_listeners?inboundonly&graceful'));
  }

  /**
   * Closes the inbound listeners now, even inside a drain sequence: no new connection is
   * accepted; existing ones go on (Envoy's draining docs; source/server/admin/listeners_handler.cc).
   */
  async closeInbound(): Promise<void> {
    await this.expectOk(await this.request('POST', '/drain_listeners?inboundonly'));
  }

  /** Clean exit. */
  async quit(): Promise<void> {
    await this.expectOk(await this.request('POST', '/quitquitquit'));
  }

  private request(method: string, path: string, signal?: AbortSignal): Promise<Response> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    return fetch(`http://${this.address}${path}`, {
      method,
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
  }

  private async expectOk(res: Response): Promise<void> {
    const body = await res.text();
    if (res.status !== 200) {
      throw new Error(`envoy admin ${this.address}: ${res.status} ${body.trim()}`);
    }
  }
}
