// The server's replicated state: nodes, services, checks and config entries with raft-like
// indexes, blocking queries, and the leader. Only the server double holds one; clients forward.
import { EventEmitter } from 'node:events';
import type { Json, JsonObject } from './config.ts';
import type { ConfigEntry, EntryLookup } from './config-entries.ts';
import type { CheckState, CheckStatus, NodeService } from './services.ts';
import { catalogNodeServiceView, catalogProxyView, checkView } from './services.ts';

export interface NodeInfo {
  ID: string;
  Node: string;
  Address: string;
  Datacenter: string;
  TaggedAddresses: Record<string, string> | null;
  Meta: Record<string, string> | null;
}

/** The node's own fields, first in both a node (/v1/catalog/nodes) and a service instance. */
const nodeFields = (n: NodeInfo): JsonObject => ({
  ID: n.ID,
  Node: n.Node,
  Address: n.Address,
  Datacenter: n.Datacenter,
  TaggedAddresses: n.TaggedAddresses,
});

interface Indexed<T> {
  value: T;
  create: number;
  modify: number;
}

interface NodeRecord {
  node: Indexed<NodeInfo>;
  services: Map<string, Indexed<NodeService>>;
  checks: Map<string, Indexed<CheckState>>;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

export class Catalog implements EntryLookup {
  index = 10;
  private readonly nodes = new Map<string, NodeRecord>();
  private readonly entries = new Map<string, Map<string, Indexed<ConfigEntry>>>();
  private readonly changes = new EventEmitter();

  constructor() {
    this.changes.setMaxListeners(0);
  }

  private bump(): number {
    this.index += 1;
    this.changes.emit('change');
    return this.index;
  }

  /** The next index, for other replicated state (ACL policies and tokens). */
  nextIndex(): number {
    return this.bump();
  }

  /** Blocking query: resolves once the index passes `min` or after `waitMs`. */
  waitFor(min: number, waitMs: number): Promise<void> {
    if (this.index > min) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        this.changes.off('change', onChange);
        resolve();
      };
      const onChange = (): void => {
        if (this.index > min) done();
      };
      const t = setTimeout(done, waitMs);
      this.changes.on('change', onChange);
    });
  }

  // --- writes ---------------------------------------------------------------------------------

  private upsert<T>(map: Map<string, Indexed<T>>, key: string, value: T): boolean {
    const prev = map.get(key);
    if (prev && same(prev.value, value)) return false;
    const idx = this.bump();
    map.set(key, { value, create: prev?.create ?? idx, modify: idx });
    return true;
  }

  ensureNode(info: NodeInfo): NodeRecord {
    let rec = this.nodes.get(info.Node);
    if (!rec) {
      const idx = this.bump();
      rec = {
        node: { value: info, create: idx, modify: idx },
        services: new Map(),
        checks: new Map(),
      };
      this.nodes.set(info.Node, rec);
    } else if (!same(rec.node.value, info)) {
      const idx = this.bump();
      rec.node = { value: info, create: rec.node.create, modify: idx };
    }
    return rec;
  }

  /**
   * Anti-entropy: the node's full local state replaces what the catalog holds for it, except
   * what ACLs `blocked` (those parts keep what the catalog has, if anything).
   */
  syncNode(
    info: NodeInfo,
    services: NodeService[],
    checks: CheckState[],
    blocked?: { node: boolean; services: Set<string>; checks: Set<string> },
  ): void {
    const rec = blocked?.node
      ? (this.nodes.get(info.Node) ??
        this.ensureNode({ ...info, TaggedAddresses: null, Meta: null }))
      : this.ensureNode(info);
    const ids = new Set(services.map((s) => s.ID));
    for (const id of [...rec.services.keys()]) {
      if (!ids.has(id) && !blocked?.services.has(id)) {
        rec.services.delete(id);
        this.bump();
      }
    }
    for (const s of services) if (!blocked?.services.has(s.ID)) this.upsert(rec.services, s.ID, s);
    const checkIds = new Set(checks.map((c) => c.def.CheckID));
    for (const id of [...rec.checks.keys()]) {
      if (id !== 'serfHealth' && !checkIds.has(id) && !blocked?.checks.has(id)) {
        rec.checks.delete(id);
        this.bump();
      }
    }
    for (const c of checks)
      if (!blocked?.checks.has(c.def.CheckID)) this.upsert(rec.checks, c.def.CheckID, c);
  }

  setSerfHealth(info: NodeInfo, alive: boolean): void {
    const rec = this.ensureNode(info);
    const check: CheckState = {
      def: {
        CheckID: 'serfHealth',
        Name: 'Serf Health Status',
        Notes: '',
        ServiceID: '',
        Status: 'passing',
        Type: '',
        IntervalMs: 0,
        TimeoutMs: 0,
        TtlMs: 0,
        DeregisterCriticalServiceAfterMs: 0,
      },
      Node: info.Node,
      Status: alive ? 'passing' : 'critical',
      Output: alive ? 'Agent alive and reachable' : 'Agent not live or unreachable',
      ServiceName: '',
      ServiceTags: [],
    };
    this.upsert(rec.checks, 'serfHealth', check);
  }

  /**
   * The leader's serf reconcile: a member's node enters the catalog bare (no tagged addresses,
   * no meta — as recorded right after an election) until the agent's own anti-entropy sync.
   */
  reconcileMember(info: NodeInfo, alive: boolean, extra?: NodeService): void {
    if (!this.nodes.has(info.Node)) this.ensureNode({ ...info, TaggedAddresses: null, Meta: null });
    const rec = this.nodes.get(info.Node) as NodeRecord;
    this.setSerfHealth(rec.node.value, alive);
    if (extra) this.upsert(rec.services, extra.ID, extra);
  }

  deregisterNode(name: string): void {
    if (this.nodes.delete(name)) this.bump();
  }

  hasNode(name: string): boolean {
    return this.nodes.has(name);
  }

  // --- config entries -------------------------------------------------------------------------

  get(kind: string, name: string): ConfigEntry | undefined {
    return this.entries.get(kind)?.get(name)?.value;
  }

  getIndexed(kind: string, name: string): Indexed<ConfigEntry> | undefined {
    return this.entries.get(kind)?.get(name);
  }

  list(kind: string): ConfigEntry[] {
    return this.listIndexed(kind).map((e) => e.value);
  }

  listIndexed(kind: string): Indexed<ConfigEntry>[] {
    return [...(this.entries.get(kind)?.values() ?? [])].sort((a, b) =>
      a.value.Name < b.value.Name ? -1 : 1,
    );
  }

  /** Writes an entry; a no-op write (identical content) keeps the indexes. */
  setEntry(e: ConfigEntry): void {
    let m = this.entries.get(e.Kind);
    if (!m) {
      m = new Map();
      this.entries.set(e.Kind, m);
    }
    this.upsert(m, e.Name, e);
  }

  deleteEntry(kind: string, name: string): void {
    if (this.entries.get(kind)?.delete(name)) this.bump();
  }

  allEntries(): ConfigEntry[] {
    return [...this.entries.values()].flatMap((m) => [...m.values()].map((e) => e.value));
  }

  // --- reads ----------------------------------------------------------------------------------

  nodeView(rec: NodeRecord): JsonObject {
    const n = rec.node.value;
    return {
      ...nodeFields(n),
      Meta: n.Meta,
      CreateIndex: rec.node.create,
      ModifyIndex: rec.node.modify,
    };
  }

  private sortedNodes(): NodeRecord[] {
    return [...this.nodes.values()].sort((a, b) =>
      a.node.value.Node < b.node.value.Node ? -1 : 1,
    );
  }

  nodesList(): JsonObject[] {
    return this.sortedNodes().map((r) => this.nodeView(r));
  }

  servicesMap(): JsonObject {
    const out: Record<string, Set<string>> = {};
    for (const r of this.nodes.values()) {
      for (const s of r.services.values()) {
        const set = (out[s.value.Service] ??= new Set());
        for (const t of s.value.Tags) set.add(t);
      }
    }
    return Object.fromEntries(
      Object.keys(out)
        .sort()
        .map((k) => [k, [...(out[k] as Set<string>)].sort()]),
    );
  }

  private serviceInstances(
    match: (s: NodeService) => boolean,
  ): { rec: NodeRecord; svc: Indexed<NodeService> }[] {
    const out: { rec: NodeRecord; svc: Indexed<NodeService> }[] = [];
    for (const rec of this.sortedNodes()) {
      for (const svc of rec.services.values()) if (match(svc.value)) out.push({ rec, svc });
    }
    return out;
  }

  catalogService(name: string, tag?: string): JsonObject[] {
    return this.serviceInstances((s) => s.Service === name && (!tag || s.Tags.includes(tag))).map(
      ({ rec, svc }) => {
        const n = rec.node.value;
        const s = svc.value;
        return {
          ...nodeFields(n),
          NodeMeta: n.Meta,
          ServiceKind: s.Kind,
          ServiceID: s.ID,
          ServiceName: s.Service,
          ServiceTags: s.Tags,
          ServiceAddress: s.Address,
          ...(s.TaggedAddresses ? { ServiceTaggedAddresses: s.TaggedAddresses } : {}),
          ServiceWeights: s.Weights,
          ServiceMeta: s.Meta,
          ServicePort: s.Port,
          ServiceSocketPath: '',
          ServiceEnableTagOverride: s.EnableTagOverride,
          ServiceProxy: catalogProxyView(s),
          ServiceConnect: s.Native ? { Native: true } : {},
          CreateIndex: svc.create,
          ModifyIndex: svc.modify,
        } as unknown as JsonObject;
      },
    );
  }

  catalogNode(name: string): JsonObject | null {
    const rec = this.nodes.get(name);
    if (!rec) return null;
    const services: JsonObject = {};
    for (const s of [...rec.services.values()].sort((a, b) => (a.value.ID < b.value.ID ? -1 : 1))) {
      services[s.value.ID] = catalogNodeServiceView(s.value, s.create, s.modify);
    }
    return { Node: this.nodeView(rec), Services: services };
  }

  private checksOf(rec: NodeRecord, serviceId: string | null): JsonObject[] {
    return [...rec.checks.values()]
      .filter(
        (c) =>
          serviceId === null || c.value.def.ServiceID === '' || c.value.def.ServiceID === serviceId,
      )
      .sort((a, b) => (a.value.def.CheckID < b.value.def.CheckID ? -1 : 1))
      .map((c) => checkView(c.value, c.create, c.modify));
  }

  /** /v1/health/service/:name and /v1/health/connect/:name entries. */
  healthService(
    name: string,
    opts: { connect: boolean; passing: boolean; tag?: string },
  ): JsonObject[] {
    const match = opts.connect
      ? (s: NodeService): boolean =>
          (s.Kind === 'connect-proxy' && s.Proxy?.DestinationServiceName === name) ||
          (s.Service === name && s.Native === true)
      : (s: NodeService): boolean => s.Service === name;
    return this.serviceInstances((s) => match(s) && (!opts.tag || s.Tags.includes(opts.tag)))
      .map(({ rec, svc }) => ({
        Node: this.nodeView(rec),
        Service: catalogNodeServiceView(svc.value, svc.create, svc.modify),
        Checks: this.checksOf(rec, svc.value.ID),
      }))
      .filter((e) => !opts.passing || e.Checks.every((c) => c.Status === 'passing'));
  }

  healthChecksOfService(name: string): JsonObject[] {
    const out: JsonObject[] = [];
    for (const rec of this.sortedNodes()) {
      for (const c of rec.checks.values()) {
        if (c.value.ServiceName === name) out.push(checkView(c.value, c.create, c.modify));
      }
    }
    return out;
  }

  healthNode(name: string): JsonObject[] {
    const rec = this.nodes.get(name);
    return rec ? this.checksOf(rec, null) : [];
  }

  healthState(state: string): JsonObject[] {
    const out: JsonObject[] = [];
    for (const rec of this.sortedNodes()) {
      for (const c of rec.checks.values()) {
        if (state === 'any' || c.value.Status === (state as CheckStatus)) {
          out.push(checkView(c.value, c.create, c.modify));
        }
      }
    }
    return out;
  }

  /** Everything a restarted server needs back (config entries only; nodes re-sync). */
  snapshot(): Json {
    return this.allEntries() as unknown as Json;
  }
}
