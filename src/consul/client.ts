// The slice of Consul's HTTP API a node needs, over node:http (src/net/http.ts): not fetch,
// which loads undici, and not the npm `consul` client, whose modules (and papi's) stayed resident
// for six GETs and two PUTs (bench/README.md, "where the memory goes"). Every failure becomes a
// ConsulError that says whether waiting can heal it (contract §3: Consul answers 500 for nearly
// everything, so the body text decides).
import { z } from 'zod';
import { httpRequest, type HttpAnswer } from '../net/http.ts';

export interface ConsulClientOptions {
  /** host:port of the agent's HTTP API. */
  httpAddr: string;
  /** ACL token; sent as X-Consul-Token, never logged. */
  token?: string;
  /** Per-request timeout. Catalog reads block ~6 s before the first leader (recordings 01). */
  timeoutMs?: number;
}

/**
 * How Consul 1.10 answers a request it cannot serve yet (recording 12, its README states the
 * rule). Through a client agent a server's answer is prefixed once by "rpc error making call: ";
 * the text after it is what the server said. These bodies appeared for a valid entry, so they
 * say nothing about the request: no servers known, the server unreachable, no leader yet.
 */
const RPC_PREFIX = 'rpc error making call: ';
const NOT_YET_BODY = /^(No known Consul servers$|rpc error getting client: )/;
/**
 * After the prefix: no leader (held ~7 s first), a leadership change mid-call, and an RPC cut
 * off by a server stopping (EOF, refused, i/o timeout). Any other 500 is a rejection.
 */
const NOT_YET_REASON =
  /^(No cluster leader|leadership lost while committing log|Raft leader not found.*|Not ready to serve consistent reads)$|^(EOF|.*: connect: connection refused|.*i\/o timeout)$/;

export class ConsulError extends Error {
  constructor(
    message: string,
    /** HTTP status, or null when no answer came (connection refused, timeout). */
    readonly status: number | null,
    /** True when retrying later can succeed; false for a request Consul rejects on its merits. */
    readonly transient: boolean,
  ) {
    super(message);
    this.name = 'ConsulError';
  }

  /**
   * Recording 12's rule: 400 (the request is malformed) and 403 (ACL) never heal by waiting; a
   * 500 retries only for the "not yet" texts above; any other 500 is Consul rejecting the
   * request, and its message is the server's reason without the client's RPC prefix.
   */
  static fromResponse(status: number, body: string): ConsulError {
    const text = body.trim() || `HTTP ${status}`;
    if (status === 429 || status === 503) return new ConsulError(text, status, true);
    const reason = text.startsWith(RPC_PREFIX) ? text.slice(RPC_PREFIX.length) : text;
    if (status !== 500) return new ConsulError(status === 403 ? reason : text, status, false);
    const transient = NOT_YET_BODY.test(text) || NOT_YET_REASON.test(reason);
    return new ConsulError(transient ? text : reason, status, transient);
  }

  /** A request that got no HTTP answer (refused, reset, past its deadline), normalised. */
  static from(err: unknown): ConsulError {
    if (err instanceof ConsulError) return err;
    const e = err as { message?: string; code?: string };
    const detail = e.code ?? e.message ?? String(err);
    // No HTTP answer at all: the agent is not up yet, or is restarting.
    return new ConsulError(`no answer from Consul: ${detail}`, null, true);
  }
}

const ConfigEntrySchema = z.looseObject({ Kind: z.string(), Name: z.string() });
export type StoredConfigEntry = z.infer<typeof ConfigEntrySchema> & {
  ModifyIndex?: number;
};

const AgentServiceSchema = z.looseObject({
  ID: z.string(),
  Service: z.string(),
  Kind: z.string().optional(),
  Port: z.number().optional(),
});
export type AgentService = z.infer<typeof AgentServiceSchema>;

const MemberSchema = z.looseObject({ Name: z.string(), Addr: z.string(), Status: z.number() });
export type Member = z.infer<typeof MemberSchema>;

const SelfSchema = z.looseObject({
  Config: z.looseObject({ NodeName: z.string(), Datacenter: z.string(), Version: z.string() }),
});
export type AgentSelf = z.infer<typeof SelfSchema>;

const CheckSchema = z.looseObject({
  CheckID: z.string(),
  Name: z.string(),
  Status: z.string(),
  Output: z.string().optional(),
  ServiceID: z.string().optional(),
  ServiceName: z.string().optional(),
});
export type HealthCheck = z.infer<typeof CheckSchema>;

const HealthEntrySchema = z.looseObject({
  Node: z.looseObject({ Node: z.string() }),
  Service: z.looseObject({
    ID: z.string(),
    Service: z.string(),
    Proxy: z.looseObject({ DestinationServiceID: z.string().optional() }).optional(),
  }),
  Checks: z.array(CheckSchema).nullish(),
});
export type HealthEntry = z.infer<typeof HealthEntrySchema>;

const IntentionSchema = z.looseObject({
  SourceName: z.string(),
  DestinationName: z.string(),
  /** allow | deny; absent on an L7 intention, which has Permissions instead. */
  Action: z.string().optional(),
  Permissions: z.array(z.unknown()).nullish(),
  Precedence: z.number().optional(),
});
export type Intention = z.infer<typeof IntentionSchema>;

/**
 * A blocking query's answer: `index` (X-Consul-Index) goes back as `?index=` to wait for the
 * next change; `headers` are Consul's (X-Consul-Default-Acl-Policy among them).
 */
export interface Indexed<T> {
  value: T;
  index: number;
  headers: ReadonlyMap<string, string>;
}

/** Where a blocking query starts (0: answer at once) and how long Consul may hold it. */
export interface BlockingOptions {
  index: number;
  waitSeconds: number;
  signal?: AbortSignal;
}

/** The agent API as the rest of meshvisor uses it: ConsulClient's public calls (a test fakes it). */
export type ConsulApi = { [K in keyof ConsulClient]: ConsulClient[K] };

export class ConsulClient {
  readonly httpAddr: string;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;

  constructor(options: ConsulClientOptions) {
    this.httpAddr = options.httpAddr;
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** A 200 answer's JSON body, checked against `schema`; any other answer is a ConsulError. */
  private async call<T>(method: string, path: string, schema: z.ZodType<T>): Promise<T> {
    return this.parse(this.expectOk(await this.request(method, path)), schema);
  }

  private parse<T>(body: string, schema: z.ZodType<T>): T {
    let json: unknown;
    try {
      json = body.trim() === '' ? undefined : JSON.parse(body);
    } catch {
      throw new ConsulError(
        `unexpected answer from Consul: not JSON: ${body.slice(0, 200)}`,
        200,
        false,
      );
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new ConsulError(
        `unexpected answer from Consul: ${z.prettifyError(parsed.error)}`,
        200,
        false,
      );
    }
    return parsed.data;
  }

  /**
   * A blocking query (contract §3: Consul holds it up to `wait`, then answers as it is): the
   * request's own deadline is that wait plus Consul's jitter (wait/16) plus the usual timeout.
   */
  private async blocking<T>(
    path: string,
    schema: z.ZodType<T>,
    { index, waitSeconds, signal }: BlockingOptions,
  ): Promise<Indexed<T>> {
    const query = `${path.includes('?') ? '&' : '?'}index=${index}&wait=${waitSeconds}s`;
    const timeoutMs = index > 0 ? waitSeconds * 1000 * (17 / 16) + this.timeoutMs : this.timeoutMs;
    const res = await this.request('GET', path + query, undefined, signal, timeoutMs);
    const value = this.parse(this.expectOk(res), schema);
    const answered = Number(res.headers.get('x-consul-index'));
    return { value, index: Number.isFinite(answered) ? answered : 0, headers: res.headers };
  }

  /** The local agent's checks, by check ID: its own view, before any sync to the catalog. */
  agentChecks(): Promise<Record<string, HealthCheck>> {
    return this.call('GET', '/v1/agent/checks', z.record(z.string(), CheckSchema));
  }

  /** The Connect-capable instances of a service (its sidecars) with their checks, blocking. */
  healthConnect(
    service: string,
    datacenter: string,
    options: BlockingOptions,
  ): Promise<Indexed<HealthEntry[]>> {
    const path = `/v1/health/connect/${enc(service)}?dc=${enc(datacenter)}`;
    return this.blocking(
      path,
      z
        .array(HealthEntrySchema)
        .nullable()
        .transform((v) => v ?? []),
      options,
    );
  }

  /** The intentions whose destination matches `service`, most precise first, blocking. */
  intentionsTo(service: string, options: BlockingOptions): Promise<Indexed<Intention[]>> {
    const path = `/v1/connect/intentions/match?by=destination&name=${enc(service)}`;
    const schema = z
      .record(z.string(), z.array(IntentionSchema).nullable())
      .transform((byName) => byName[service] ?? []);
    return this.blocking(path, schema, options);
  }

  /** The raft leader's RPC address, or "" while there is none (contract §3). */
  leader(): Promise<string> {
    // Consul answers `""` (JSON); an empty body means the same.
    const leader = z
      .string()
      .optional()
      .transform((v) => v ?? '');
    return this.call('GET', '/v1/status/leader', leader);
  }

  self(): Promise<AgentSelf> {
    return this.call('GET', '/v1/agent/self', SelfSchema);
  }

  members(): Promise<Member[]> {
    return this.call('GET', '/v1/agent/members', z.array(MemberSchema));
  }

  /** The agent's local services, keyed by service ID. */
  services(): Promise<Record<string, AgentService>> {
    return this.call('GET', '/v1/agent/services', z.record(z.string(), AgentServiceSchema));
  }

  /**
   * The catalog's view of a node: the IDs of the services it holds, or null while the node is
   * not in the catalog. A node that left answers `200 null` until its first sync after a rejoin
   * (recording 10): absent, not an error.
   */
  async catalogNode(node: string): Promise<{ serviceIds: string[] } | null> {
    const entry = await this.call(
      'GET',
      `/v1/catalog/node/${enc(node)}`,
      z
        .looseObject({
          Node: z.looseObject({ Node: z.string() }),
          Services: z.record(z.string(), z.unknown()).nullish(),
        })
        .nullish(),
    );
    return entry ? { serviceIds: Object.keys(entry.Services ?? {}) } : null;
  }

  async maintenance(serviceId: string, enable: boolean, reason: string): Promise<void> {
    const query = `enable=${enable}&reason=${encodeURIComponent(reason)}`;
    this.expectOk(
      await this.request('PUT', `/v1/agent/service/maintenance/${enc(serviceId)}?${query}`),
    );
  }

  async deregister(serviceId: string): Promise<void> {
    this.expectOk(await this.request('PUT', `/v1/agent/service/deregister/${enc(serviceId)}`));
  }

  /**
   * The stored entry of that kind and name, or null. Read through the kind's list
   * (`GET /v1/config/:kind`, 200 even when empty): a GET of one missing entry answers 404 and
   * makes Consul log an [ERROR] line each time, alarming on every first start.
   */
  async readConfigEntry(kind: string, name: string): Promise<StoredConfigEntry | null> {
    const body = this.expectOk(await this.request('GET', `/v1/config/${enc(kind)}`));
    const parsed = z
      .array(ConfigEntrySchema.extend({ ModifyIndex: z.number() }))
      .nullable()
      .safeParse(JSON.parse(body));
    if (!parsed.success) {
      throw new ConsulError(`unexpected config entries from Consul: ${body}`, 200, false);
    }
    return parsed.data?.find((entry) => entry.Name === name) ?? null;
  }

  /**
   * PUT /v1/config?cas=N. Returns false when the check-and-set missed: someone else wrote
   * the entry since we read it (cas=0: it exists already), so the caller reads again.
   */
  async writeConfigEntry(entry: Record<string, unknown>, cas: number): Promise<boolean> {
    const res = await this.request('PUT', `/v1/config?cas=${cas}`, JSON.stringify(entry));
    const body = this.expectOk(res).trim();
    if (body !== 'true' && body !== 'false') {
      throw new ConsulError(`unexpected answer to PUT /v1/config: ${body}`, res.status, false);
    }
    return body === 'true';
  }

  /** True when the agent's HTTP API answers at all, whatever the status: the agent is serving. */
  async answers(signal: AbortSignal): Promise<boolean> {
    try {
      await this.request('GET', '/v1/status/leader', undefined, signal);
      return true;
    } catch {
      return false;
    }
  }

  /** PUT /v1/agent/reload: the agent reads its config files again (recording 09). */
  async reload(): Promise<void> {
    this.expectOk(await this.request('PUT', '/v1/agent/reload'));
  }

  /** PUT /v1/agent/leave: the agent leaves the cluster gracefully, then exits 0. */
  async leave(): Promise<void> {
    this.expectOk(await this.request('PUT', '/v1/agent/leave'));
  }

  private async request(
    method: string,
    path: string,
    body?: string,
    signal?: AbortSignal,
    timeoutMs = this.timeoutMs,
  ): Promise<HttpAnswer> {
    try {
      return await httpRequest(`http://${this.httpAddr}${path}`, {
        method,
        body,
        headers: this.token ? { 'X-Consul-Token': this.token } : {},
        timeoutMs,
        countAs: 'consul',
        signal,
      });
    } catch (err) {
      throw ConsulError.from(err);
    }
  }

  private expectOk(res: HttpAnswer): string {
    if (res.status !== 200) throw ConsulError.fromResponse(res.status, res.body);
    return res.body;
  }
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}
