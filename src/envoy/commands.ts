// The command line of each proxy program: one `consul connect envoy` per sidecar and per
// gateway, each with its own admin port (the original setup let every sidecar take Envoy's
// default 127.0.0.1:19000, and the second one died with EADDRINUSE).
import type { NodeSpec } from '../spec/index.ts';
import type { DrainScope } from './admin.ts';

export interface ProxyPlanInput {
  address: string;
  httpPort: number;
  grpcPort: number;
  mode: 'envoy' | 'builtin';
  /** Absolute path of the envoy binary (mode envoy), passed as -envoy-binary. */
  envoyBinaryPath?: string;
  adminPortBase: number;
  /**
   * Admin ports the running proxies hold, by program name: a re-plan (a reload) keeps them, so
   * adding a sidecar never moves another Envoy's port. New proxies take the lowest free ones.
   */
  heldAdminPorts?: ReadonlyMap<string, number>;
  drainSeconds: number;
  /** Passed to every Envoy as `--config-yaml` (the runtime layer a Consul/Envoy pair needs). */
  envoyConfigYaml?: string;
  sidecars: { serviceId: string; token?: string }[];
  gateways: { kind: 'ingress'; name: string; port: number; token?: string }[];
}

export interface ProxyPlan {
  /** Program name: sidecar:<service-id> or gateway:<name>. */
  name: string;
  kind: 'sidecar' | 'gateway';
  /** Arguments after the consul binary. */
  args: string[];
  /** Envoy's admin address; null for the built-in proxy, which has none. */
  adminAddress: string | null;
  /** The service the proxy fronts (sidecar) or registers (gateway). */
  serviceId: string;
  /** The ACL token it gets as CONSUL_HTTP_TOKEN (never in argv); undefined without ACLs. */
  token: string | undefined;
  /**
   * The listener whose presence in Envoy's `/listeners` says the proxy serves: a sidecar's
   * `public_listener:`; '' (any) for a gateway, whose listeners are named by their ports.
   */
  readyListenerPrefix: string;
  /** Which listeners its stop drains (see DrainScope). */
  drainScope: DrainScope;
}

export function planProxies(input: ProxyPlanInput): ProxyPlan[] {
  const agentFlags = [
    '-http-addr',
    `${input.address}:${input.httpPort}`,
    '-grpc-addr',
    `${input.address}:${input.grpcPort}`,
  ];
  // Envoy's own flags go after `--`; a graceful drain lasts --drain-time-s. Consul 1.10 counts
  // --drain-time-s as a hot-restart option and then leaves out the --disable-hot-restart it
  // otherwise adds (command/connect/envoy/exec_unix.go): every Envoy would bind the hot-restart
  // socket of base id 0, and the node's second one exits "unable to bind domain socket with
  // base_id=0" (seen with Envoy 1.36.4). So it is passed here.
  const envoyFlags = (adminPort: number) => [
    '-admin-bind',
    `127.0.0.1:${adminPort}`,
    ...(input.envoyBinaryPath ? ['-envoy-binary', input.envoyBinaryPath] : []),
    ...agentFlags,
    '--',
    '--disable-hot-restart',
    '--drain-time-s',
    String(input.drainSeconds),
    ...(input.envoyConfigYaml ? ['--config-yaml', input.envoyConfigYaml] : []),
  ];
  const adminPorts = assignAdminPorts(
    [
      ...(input.mode === 'envoy' ? input.sidecars.map((s) => sidecarName(s.serviceId)) : []),
      ...input.gateways.map((g) => gatewayName(g.name)),
    ],
    input.adminPortBase,
    input.heldAdminPorts,
  );
  const adminPortOf = (name: string): number => adminPorts.get(name)!;

  const sidecars = input.sidecars.map(({ serviceId, token }): ProxyPlan => {
    const name = sidecarName(serviceId);
    if (input.mode === 'builtin') {
      return {
        name,
        kind: 'sidecar',
        serviceId,
        token,
        readyListenerPrefix: 'public_listener:',
        drainScope: 'inbound',
        adminAddress: null,
        args: [
          'connect',
          'proxy',
          '-sidecar-for',
          serviceId,
          '-http-addr',
          `${input.address}:${input.httpPort}`,
        ],
      };
    }
    const adminPort = adminPortOf(name);
    return {
      name,
      kind: 'sidecar',
      serviceId,
      token,
      readyListenerPrefix: 'public_listener:',
      drainScope: 'inbound',
      adminAddress: `127.0.0.1:${adminPort}`,
      args: ['connect', 'envoy', '-sidecar-for', serviceId, ...envoyFlags(adminPort)],
    };
  });

  // Gateways always run Envoy: the built-in proxy cannot be a gateway.
  const gateways = input.gateways.map((gateway): ProxyPlan => {
    const name = gatewayName(gateway.name);
    const adminPort = adminPortOf(name);
    return {
      name,
      kind: 'gateway',
      serviceId: gateway.name,
      token: gateway.token,
      readyListenerPrefix: '',
      drainScope: 'all',
      adminAddress: `127.0.0.1:${adminPort}`,
      args: [
        'connect',
        'envoy',
        `-gateway=${gateway.kind}`,
        '-register',
        '-service',
        gateway.name,
        '-address',
        `${input.address}:${gateway.port}`,
        ...envoyFlags(adminPort),
      ],
    };
  });
  return [...sidecars, ...gateways];
}

/** The parts of a spec that say which proxies run. */
type ProxySpec = Pick<NodeSpec, 'proxy' | 'services' | 'gateways'>;

const sidecarName = (serviceId: string) => `sidecar:${serviceId}`;
const gatewayName = (name: string) => `gateway:${name}`;

/**
 * Admin ports by program name, in order: a held port stays where it is, every other program
 * takes the lowest free port from `base` up.
 */
function assignAdminPorts(
  names: readonly string[],
  base: number,
  held: ReadonlyMap<string, number> = new Map(),
): Map<string, number> {
  const taken = new Set(held.values());
  const ports = new Map<string, number>();
  let next = base;
  for (const name of names) {
    let port = held.get(name);
    if (port === undefined) {
      while (taken.has(next)) next++;
      port = next++;
      taken.add(port);
    }
    ports.set(name, port);
  }
  return ports;
}

/** The Envoy programs a spec runs, in admin-port order: sidecars (proxy.mode envoy), then gateways. */
export function envoyProgramNames(spec: ProxySpec): string[] {
  return [
    ...(spec.proxy.mode === 'envoy'
      ? spec.services.filter((s) => s.sidecar).map((s) => sidecarName(s.id))
      : []),
    ...spec.gateways.map((g) => gatewayName(g.name)),
  ];
}

/** True when the spec runs Envoy: every gateway does, and sidecars in proxy.mode envoy. */
export function needsEnvoy(spec: ProxySpec): boolean {
  return envoyProgramNames(spec).length > 0;
}

/** Each Envoy's admin port when the node starts with `spec` (what `run` binds, as planProxies). */
export function envoyAdminPorts(spec: ProxySpec): { name: string; port: number }[] {
  const ports = assignAdminPorts(envoyProgramNames(spec), spec.proxy.adminPortBase);
  return [...ports].map(([name, port]) => ({ name, port }));
}
