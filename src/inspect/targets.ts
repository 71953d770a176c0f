// What the mesh view watches, as a pure function of the spec and its proxies: read from the plan,
// so a reload that adds an upstream or a gateway listener changes what is watched.
import type { ProxyPlan } from '../envoy/index.ts';
import type { NodeSpec } from '../spec/index.ts';

export interface UpstreamTarget {
  /** The calling service's name (its intentions' source), or the gateway's. */
  source: string;
  service: string;
  datacenter: string;
  localPort: number;
  /** The proxy program that carries the call. */
  proxy: string;
}

export interface MeshTargets {
  /** The node's services and gateways, by the service ID the agent holds. */
  services: { id: string; name: string }[];
  /** Envoys with an admin API: the built-in proxy has none. */
  envoys: { proxy: string; adminAddress: string }[];
  upstreams: UpstreamTarget[];
}

export function meshTargets(spec: NodeSpec, proxies: readonly ProxyPlan[]): MeshTargets {
  const proxyOf = (kind: ProxyPlan['kind'], serviceId: string) =>
    proxies.find((p) => p.kind === kind && p.serviceId === serviceId)?.name;
  // Every service with a sidecar has a proxy in the plan, every gateway too.
  const sidecarUpstreams = spec.services.flatMap((s) => {
    const proxy = proxyOf('sidecar', s.id);
    return proxy === undefined
      ? []
      : (s.sidecar?.upstreams ?? []).map((u) => ({
          source: s.name,
          service: u.service,
          datacenter: u.datacenter ?? spec.datacenter,
          localPort: u.localPort,
          proxy,
        }));
  });
  // A listener's `*` stands for every service of its protocol: nothing to name, so nothing to watch.
  const gatewayUpstreams = spec.gateways.flatMap((g) => {
    const proxy = proxyOf('gateway', g.name);
    if (proxy === undefined) return [];
    return g.listeners.flatMap((l) =>
      l.services
        .filter((svc) => svc.name !== '*')
        .map((svc) => ({
          source: g.name,
          service: svc.name,
          datacenter: spec.datacenter,
          localPort: l.port,
          proxy,
        })),
    );
  });
  return {
    services: [
      ...spec.services.flatMap((s) => [
        { id: s.id, name: s.name },
        ...(s.sidecar ? [{ id: `${s.id}-sidecar-proxy`, name: `${s.name}-sidecar-proxy` }] : []),
      ]),
      ...spec.gateways.map((g) => ({ id: g.name, name: g.name })),
    ],
    envoys: proxies.flatMap((p) =>
      p.adminAddress ? [{ proxy: p.name, adminAddress: p.adminAddress }] : [],
    ),
    upstreams: [...sidecarUpstreams, ...gatewayUpstreams],
  };
}
