// Envoy's admin API, the calls a node needs (contract §6): readiness, and the graceful drain
// of a stop. Mutations are POST: Envoy 1.36 answers a GET on them with 405 and does nothing.
import { httpRequest, HttpRequestError, type HttpAnswer } from '../net/http.ts';

/**
 * Which listeners a proxy's stop drains. A sidecar drains its inbound ones only: its upstream
 * listeners carry the app's own requests while it finishes. A gateway drains all: each of its
 * listeners takes traffic from outside, and Consul 1.10 marks an ingress gateway's listeners
 * OUTBOUND, which `?inboundonly` leaves open.
 */
export type DrainScope = 'inbound' | 'all';

/** Envoy finished its init over a listener update it rejected: the listener does not exist. */
export class ListenerRejectedError extends Error {
  constructor(
    readonly listener: string,
    readonly details: string,
  ) {
    super(`Envoy rejected listener ${listener}: ${details}`);
    this.name = 'ListenerRejectedError';
  }
}

/** The slice of `GET /config_dump?resource=dynamic_listeners` read here (recorded on 1.36.4). */
interface DynamicListenersDump {
  configs?: {
    name?: string;
    error_state?: { details?: string; failed_configuration?: { name?: string } };
  }[];
}

export class EnvoyAdmin {
  constructor(
    /** host:port of Envoy's admin listener (-admin-bind). */
    readonly address: string,
    private readonly timeoutMs = 2000,
  ) {}

  /**
   * True when `GET /ready` answers 200 LIVE, `GET /listeners` holds a listener whose name starts
   * with `listenerPrefix` (a sidecar's `public_listener:`; '' for any), and no listener update
   * was rejected. LIVE alone proves nothing: Envoy finishes its init over a rejected update, and
   * the real 1.36.4 said LIVE with no listener at all when Consul 1.10's name-only router was
   * refused. A rejection throws ListenerRejectedError, naming the listener and Envoy's reason.
   */
  async isServing(listenerPrefix: string, signal?: AbortSignal): Promise<boolean> {
    let listed: boolean;
    try {
      const ready = await this.request('GET', '/ready', signal);
      if (ready.status !== 200 || ready.body.trim() !== 'LIVE') return false;
      const listeners = await this.request('GET', '/listeners', signal);
      listed =
        listeners.status === 200 &&
        listeners.body.split('\n').some((l) => l.includes('::') && l.startsWith(listenerPrefix));
    } catch {
      return false;
    }
    const rejected = await this.rejectedListener(signal);
    if (rejected) throw rejected;
    return listed;
  }

  /**
   * The first listener whose last update Envoy rejected (`error_state` in the config dump; the
   * failed configuration also names it where the entry itself has no name), or null.
   */
  async rejectedListener(signal?: AbortSignal): Promise<ListenerRejectedError | null> {
    let dump: DynamicListenersDump;
    try {
      const res = await this.request('GET', '/config_dump?resource=dynamic_listeners', signal);
      if (res.status !== 200) return null;
      dump = JSON.parse(res.body) as DynamicListenersDump;
    } catch {
      return null;
    }
    for (const config of dump.configs ?? []) {
      const error = config.error_state;
      if (!error) continue;
      const name = config.name ?? error.failed_configuration?.name ?? '(unnamed)';
      return new ListenerRejectedError(name, error.details ?? 'no details given');
    }
    return null;
  }

  /**
   * graceful: starts the drain sequence (--drain-time-s) on the scope's listeners: they still
   * accept, and HTTP connections are asked to close (`Connection: close`, GOAWAY) so clients go
   * elsewhere. Not graceful: closes them now, even inside a drain sequence: no new connection
   * is accepted; existing ones go on (Envoy's draining docs; recordings drain-*).
   */
  async drain(scope: DrainScope, { graceful }: { graceful: boolean }): Promise<void> {
    const query = [scope === 'inbound' ? 'inboundonly' : '', graceful ? 'graceful' : '']
      .filter(Boolean)
      .join('&');
    this.expectOk(await this.request('POST', `/drain_listeners${query ? `?${query}` : ''}`));
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

/** A refused connection to the admin port: the Envoy is gone (it exited by itself). */
export function adminGone(err: unknown): boolean {
  return err instanceof HttpRequestError && err.code === 'ECONNREFUSED';
}
