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

export interface RejectedListener {
  name: string;
  details: string;
}

/** An Envoy cluster and its endpoints' health, from `GET /clusters?format=json`. */
export interface EnvoyCluster {
  name: string;
  endpoints: { healthy: number; total: number };
}

/** A certificate from `GET /certs`: the proxy's leaf (cert_chain) or a root it trusts (ca_cert). */
export interface EnvoyCertificate {
  kind: 'leaf' | 'root';
  serial: string;
  validFrom: string;
  expiresAt: string;
}

interface ClustersDump {
  cluster_statuses?: {
    name?: string;
    host_statuses?: { health_status?: Record<string, unknown> }[];
  }[];
}

interface CertsDump {
  certificates?: {
    ca_cert?: CertDetails[];
    cert_chain?: CertDetails[];
  }[];
}

interface CertDetails {
  serial_number?: string;
  valid_from?: string;
  expiration_time?: string;
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
   * The first listener whose last update Envoy rejected, or null (also when the dump cannot be
   * read: the readiness gate then goes by /listeners alone).
   */
  async rejectedListener(signal?: AbortSignal): Promise<ListenerRejectedError | null> {
    const rejected = await this.rejectedListeners(signal).catch(() => null);
    const first = rejected?.[0];
    return first ? new ListenerRejectedError(first.name, first.details) : null;
  }

  /**
   * The listeners whose last xDS update Envoy rejected (`error_state` in the config dump; the
   * failed configuration also names it where the entry itself has no name).
   */
  async rejectedListeners(signal?: AbortSignal): Promise<RejectedListener[]> {
    const dump = await this.json<DynamicListenersDump>(
      '/config_dump?resource=dynamic_listeners',
      signal,
    );
    // Envoy 1.36.4 lists a rejected listener twice: named, and unnamed with the failed one's name.
    const rejected = new Map<string, RejectedListener>();
    for (const { name, error_state: error } of dump.configs ?? []) {
      if (!error) continue;
      const listener = name ?? error.failed_configuration?.name ?? '(unnamed)';
      if (!rejected.has(listener)) {
        rejected.set(listener, { name: listener, details: error.details ?? 'no details given' });
      }
    }
    return [...rejected.values()];
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

  /** `GET /ready`'s state (LIVE, PRE_INITIALIZING, DRAINING...): Envoy answers it as 200 or 503. */
  async readyState(): Promise<string> {
    return (await this.request('GET', '/ready')).body.trim();
  }

  /** The names of the listeners Envoy has now (`GET /listeners?format=json`). */
  async listenerNames(): Promise<string[]> {
    const dump = await this.json<{ listener_statuses?: { name?: string }[] }>(
      '/listeners?format=json',
    );
    return (dump.listener_statuses ?? []).flatMap((l) => (l.name ? [l.name] : []));
  }

  /**
   * Each cluster's endpoints. An endpoint is healthy when EDS says HEALTHY (or says nothing) and
   * no `failed_*` flag of Envoy's own checks or outlier detection is set.
   */
  async clusters(): Promise<EnvoyCluster[]> {
    const dump = await this.json<ClustersDump>('/clusters?format=json');
    return (dump.cluster_statuses ?? []).map((cluster) => {
      const hosts = cluster.host_statuses ?? [];
      const healthy = hosts.filter(({ health_status: health = {} }) => {
        const eds = health.eds_health_status;
        const failed = Object.entries(health).some(
          ([k, v]) => k.startsWith('failed') && v === true,
        );
        return (eds === undefined || eds === 'HEALTHY') && !failed;
      }).length;
      return { name: cluster.name ?? '', endpoints: { healthy, total: hosts.length } };
    });
  }

  async certificates(): Promise<EnvoyCertificate[]> {
    const dump = await this.json<CertsDump>('/certs');
    const read = (kind: EnvoyCertificate['kind'], list: CertDetails[] = []) =>
      list.map((c) => ({
        kind,
        serial: c.serial_number ?? '',
        validFrom: c.valid_from ?? '',
        expiresAt: c.expiration_time ?? '',
      }));
    return (dump.certificates ?? []).flatMap((c) => [
      ...read('leaf', c.cert_chain),
      ...read('root', c.ca_cert),
    ]);
  }

  /** Counters and gauges whose names match `filter` (an RE2 regex Envoy applies), by name. */
  async stats(filter: string): Promise<Map<string, number>> {
    const dump = await this.json<{ stats?: { name?: string; value?: unknown }[] }>(
      `/stats?format=json&filter=${encodeURIComponent(filter)}`,
    );
    const values = new Map<string, number>();
    for (const stat of dump.stats ?? []) {
      if (stat.name && typeof stat.value === 'number') values.set(stat.name, stat.value);
    }
    return values;
  }

  /** Clean exit. */
  async quit(): Promise<void> {
    this.expectOk(await this.request('POST', '/quitquitquit'));
  }

  private async json<T>(path: string, signal?: AbortSignal): Promise<T> {
    const res = await this.request('GET', path, signal);
    this.expectOk(res);
    return JSON.parse(res.body) as T;
  }

  private request(method: string, path: string, signal?: AbortSignal): Promise<HttpAnswer> {
    return httpRequest(`http://${this.address}${path}`, {
      method,
      timeoutMs: this.timeoutMs,
      signal,
      countAs: 'envoy',
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
