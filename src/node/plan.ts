// What a node runs, as a pure function of its spec and address: the rendered files, the proxy
// programs, the services the agent must hold and the stages READY requires. A reload plans the
// new spec and applies the difference between the two plans (diffPlans), so start-up and
// reload read the spec the same way.
import { planProxies, type ProxyPlan } from '../envoy/index.ts';
import { renderNode, type ConfigEntry, type RenderedNode } from '../render/index.ts';
import { gatewayToken, secretVariables, serviceToken, type NodeSpec } from '../spec/index.ts';
import { READINESS_STAGES } from '../consul/index.ts';
import { meshTargets, type MeshTargets } from '../inspect/index.ts';
import type { EnvoyBinary } from './envoy-binary.ts';

export interface NodePlan {
  spec: NodeSpec;
  rendered: RenderedNode;
  proxies: ProxyPlan[];
  /** Service IDs the agent must hold and the catalog must show: each service and its sidecar. */
  serviceIds: string[];
  /** The stages READY requires, in order. */
  requiredStages: string[];
  /** What the mesh view watches: the node's services, its Envoys, every upstream. */
  mesh: MeshTargets;
  /** What children inherit over meshvisor's environment: every secret-carrying variable removed. */
  childEnv: Record<string, undefined>;
  /** 12 hex digits that tell the spec a node runs from another, without showing it (specLabel). */
  hash: string;
}

export function planNode(
  spec: NodeSpec,
  address: string,
  options: {
    /** The Envoy proxies run (mode envoy, gateways): its path and what its pair with Consul needs. */
    envoy?: EnvoyBinary;
    heldAdminPorts?: ReadonlyMap<string, number>;
    /** The environment children would inherit (meshvisor's own). */
    env?: NodeJS.ProcessEnv;
  } = {},
): NodePlan {
  const rendered = renderNode(spec, address);
  const proxies = planProxies({
    address,
    httpPort: spec.consul.ports.http,
    grpcPort: spec.consul.ports.grpc,
    mode: spec.proxy.mode,
    envoyBinaryPath: options.envoy?.path,
    envoyConfigYaml:
      options.envoy?.pair.needs === 'name-lookup' ? options.envoy.pair.configYaml : undefined,
    adminPortBase: spec.proxy.adminPortBase,
    heldAdminPorts: options.heldAdminPorts,
    drainSeconds: spec.timeouts.drainSeconds,
    sidecars: spec.services
      .filter((s) => s.sidecar)
      .map((s) => ({ serviceId: s.id, token: serviceToken(spec, s) })),
    gateways: spec.gateways.map((g) => ({ ...g, token: gatewayToken(spec, g) })),
  });
  return {
    spec,
    rendered,
    proxies,
    serviceIds: spec.services.flatMap((s) =>
      s.sidecar ? [s.id, `${s.id}-sidecar-proxy`] : [s.id],
    ),
    requiredStages: [
      'address',
      ...READINESS_STAGES.map((s) => s.name),
      ...(rendered.configEntries.length > 0 ? ['config-entries'] : []),
      ...(proxies.length > 0 ? ['proxies-ready'] : []),
    ],
    mesh: meshTargets(spec, proxies),
    childEnv: Object.fromEntries(
      secretVariables(spec, options.env ?? process.env).map((name) => [name, undefined]),
    ),
    hash: specLabel(JSON.stringify(spec)),
  };
}

/**
 * A 48-bit label of the spec's text: two 32-bit multiply-xor lanes, then a final mix so that
 * every input character moves every output bit. It only tells specs apart in /status and
 * /metrics; nothing trusts it. Not SHA-256 because node:crypto alone adds ~0.7 MiB to a running
 * node (bench/README.md). The secrets it covers are 122+ random bits each: 48 bits of output
 * cannot single one out.
 */
function specLabel(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x9e3779b9;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  a = Math.imul(a ^ (a >>> 15), 0x85ebca6b) ^ Math.imul(b ^ (b >>> 13), 0xc2b2ae35);
  b = Math.imul(b ^ (b >>> 16), 0x85ebca6b) ^ Math.imul(a ^ (a >>> 13), 0xc2b2ae35);
  const hex = (n: number, digits: number) => (n >>> 0).toString(16).padStart(8, '0').slice(-digits);
  return hex(b, 4) + hex(a, 8);
}

/**
 * Fields a running node can take a new value of: services, gateways and config entries are
 * registered, started and written live; the timeouts are read when used. Anything else (the
 * datacenter, role, node name, data dir, ports, the address, the status listener, the agent's
 * keys) needs a restart.
 */
const LIVE_FIELDS = ['services', 'gateways', 'configEntries', 'timeouts'];

/** The paths of `next` that differ from `current` and cannot change live, for one-line errors. */
export function refusedChanges(current: NodeSpec, next: NodeSpec): string[] {
  return changedPaths(current, next, '').filter(
    (path) => !LIVE_FIELDS.some((live) => path === live || path.startsWith(`${live}.`)),
  );
}

function changedPaths(a: unknown, b: unknown, path: string): string[] {
  if (isRecord(a) && isRecord(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((key) => changedPaths(a[key], b[key], path ? `${path}.${key}` : key));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [path || '(root)'];
}

export interface PlanChanges {
  /** Proxies to stop: gone from the spec, or changed (then started again with the new plan). */
  stopProxies: ProxyPlan[];
  startProxies: ProxyPlan[];
  /** IDs of services the new spec drops: into maintenance before their sidecars drain. */
  removedServices: string[];
  /** Gateways the new spec drops: `-register` put them in the catalog, so they are deregistered. */
  removedGateways: string[];
  /** Config entries that are new or changed, in write order; removed ones are left alone. */
  entries: ConfigEntry[];
  /** The agent's config file changes: the agent reloads it (services, checks, tokens). */
  agentConfig: boolean;
  /** The timeouts that change (`timeouts.stopSeconds`...): read by the programs when used. */
  timeouts: string[];
}

export function diffPlans(current: NodePlan, next: NodePlan): PlanChanges {
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const currentProxies = new Map(current.proxies.map((p) => [p.name, p]));
  const nextProxies = new Map(next.proxies.map((p) => [p.name, p]));
  const changed = (p: ProxyPlan) => {
    const other = currentProxies.get(p.name);
    return other === undefined || !same(other, p);
  };
  const currentEntries = new Map(
    current.rendered.configEntries.map((e) => [`${e.Kind}/${e.Name}`, e]),
  );
  const nextServices = new Set(next.spec.services.map((s) => s.id));
  const nextGateways = new Set(next.spec.gateways.map((g) => g.name));
  return {
    stopProxies: current.proxies.filter((p) => {
      const other = nextProxies.get(p.name);
      return other === undefined || !same(other, p);
    }),
    startProxies: next.proxies.filter(changed),
    removedServices: current.spec.services.map((s) => s.id).filter((id) => !nextServices.has(id)),
    removedGateways: current.spec.gateways
      .map((g) => g.name)
      .filter((name) => !nextGateways.has(name)),
    entries: next.rendered.configEntries.filter(
      (e) => !same(currentEntries.get(`${e.Kind}/${e.Name}`), e),
    ),
    agentConfig: !same(current.rendered.files[0], next.rendered.files[0]),
    timeouts: changedPaths(current.spec.timeouts, next.spec.timeouts, 'timeouts'),
  };
}

export function isEmpty(changes: PlanChanges): boolean {
  return (
    changes.stopProxies.length === 0 &&
    changes.startProxies.length === 0 &&
    changes.entries.length === 0 &&
    !changes.agentConfig &&
    changes.timeouts.length === 0
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
