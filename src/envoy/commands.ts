// The command line of each proxy program: one `consul connect envoy` per sidecar and per
// gateway, each with its own admin port (the original setup let every sidecar take Envoy's
// default 127.0.0.1:19000, and the second one died with EADDRINUSE).

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
}

export function planProxies(input: ProxyPlanInput): ProxyPlan[] {
  const agentFlags = [
    '-http-addr',
    `${input.address}:${input.httpPort}`,
    '-grpc-addr',
    `${input.address}:${input.grpcPort}`,
  ];
  // Envoy's own flags go after `--`; a graceful drain lasts --drain-time-s.
  const envoyFlags = (adminPort: number) => [
    '-admin-bind',
    `127.0.0.1:${adminPort}`,
    ...(input.envoyBinaryPath ? ['-envoy-binary', input.envoyBinaryPath] : []),
    ...agentFlags,
    '--',
    '--drain-time-s',
    String(input.drainSeconds),
  ];
  const held = input.heldAdminPorts ?? new Map<string, number>();
  const taken = new Set(held.values());
  let nextAdminPort = input.adminPortBase;
  const adminPortOf = (name: string): number => {
    const kept = held.get(name);
    if (kept !== undefined) return kept;
    while (taken.has(nextAdminPort)) nextAdminPort++;
    taken.add(nextAdminPort);
    return nextAdminPort++;
  };

  const sidecars = input.sidecars.map(({ serviceId, token }): ProxyPlan => {
    const name = `sidecar:${serviceId}`;
    if (input.mode === 'builtin') {
      return {
        name,
        kind: 'sidecar',
        serviceId,
        token,
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
      adminAddress: `127.0.0.1:${adminPort}`,
      args: ['connect', 'envoy', '-sidecar-for', serviceId, ...envoyFlags(adminPort)],
    };
  });

  // Gateways always run Envoy: the built-in proxy cannot be a gateway.
  const gateways = input.gateways.map((gateway): ProxyPlan => {
    const name = `gateway:${gateway.name}`;
    const adminPort = adminPortOf(name);
    return {
      name,
      kind: 'gateway',
      serviceId: gateway.name,
      token: gateway.token,
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
