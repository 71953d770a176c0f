// The node spec: the single source of truth for its TypeScript types, its defaults, its JSON
// Schema (`meshvisor schema`) and every rule `meshvisor validate` checks.
import { hostname } from 'node:os';
import { z } from 'zod';
import {
  duration,
  fsPath,
  ipv4,
  listenAddress,
  NAME_PATTERN,
  port,
  protocol,
  safeName,
} from './fields.ts';
import { DEFAULT_STATUS_LISTEN } from './listen.ts';
import { checkNode } from './rules.ts';

// zod compiles a parser per object schema with `new Function` unless told not to. meshvisor runs
// under --lite-mode, where V8 interprets that code like any other, so compiling it only costs
// start-up time (~4 ms) and memory.
z.config({ jitless: true });

const datacenter = z
  .string()
  .regex(/^[a-z0-9_-]+$/, 'must be lower-case letters, digits, "_" or "-" (Consul lower-cases it)');

export const AddressSchema = z
  .strictObject({
    interface: z
      .string()
      .min(1, 'must not be empty')
      .default('eth0')
      .describe('Network interface whose IPv4 is the node address.'),
    waitSeconds: z
      .number()
      .int('must be a whole number')
      .min(0, 'must be 0 or more')
      .max(3600, 'must be at most 3600')
      .default(30)
      .describe('How long to wait for an IPv4 to appear on the interface.'),
    ip: ipv4
      .refine((ip) => ip !== '0.0.0.0', 'must be a real address (Consul cannot advertise 0.0.0.0)')
      .optional()
      .describe('Explicit node address; skips discovery.'),
    source: z
      .enum(['interface', 'ecs-metadata'])
      .default('interface')
      .describe('ecs-metadata: the task IPv4 from $ECS_CONTAINER_METADATA_URI_V4 (awsvpc).'),
  })
  .describe('Where the node address (bind, advertise, API) comes from.');

export const PortsSchema = z.strictObject({
  http: port.default(8500),
  grpc: port.default(8502).describe('Always on: Envoy gets its configuration over gRPC.'),
  sidecarMinPort: z
    .number()
    .int('must be a whole number')
    .min(0, 'must be between 0 and 65535')
    .max(65535, 'must be between 0 and 65535')
    .default(21000),
  sidecarMaxPort: z
    .number()
    .int('must be a whole number')
    .min(0, 'must be between 0 and 65535')
    .max(65535, 'must be between 0 and 65535')
    .default(21255),
});

export const ServerOptionsSchema = z
  .strictObject({
    bootstrapExpect: z
      .number()
      .int('must be a whole number')
      .min(1, 'must be 1 or more')
      .default(1),
    ui: z.boolean().default(true).describe('Rendered as ui_config.enabled.'),
    raftMultiplier: z
      .number()
      .int('must be a whole number')
      .min(1, 'must be between 1 and 10')
      .max(10, 'must be between 1 and 10')
      .default(1)
      .describe(
        "performance.raft_multiplier. 1 is HashiCorp's production setting (a leader in ~1.4 s here); Consul's own default, 5, is for small dev machines (~7.4 s).",
      ),
  })
  .describe('Server-only settings (role: server).');

export const TlsSchema = z.strictObject({
  caFile: fsPath.optional(),
  certFile: fsPath.optional(),
  keyFile: fsPath.optional(),
  verifyIncoming: z.boolean().default(false),
  verifyOutgoing: z.boolean().default(false),
  autoEncrypt: z
    .boolean()
    .default(false)
    .describe('Clients: auto_encrypt.tls; servers: auto_encrypt.allow_tls.'),
});

const secret = z.string().min(1, 'must not be empty');

export const AclTokensSchema = z
  .strictObject({
    initialManagement: secret
      .optional()
      .describe(
        'Servers: the management token ACLs bootstrap with (1.10: acl.tokens.master; 1.11+: initial_management) (secret).',
      ),
    agentRecovery: secret
      .optional()
      .describe(
        'Local agent operations while no server answers (1.10: acl.tokens.agent_master; 1.11+: agent_recovery) (secret).',
      ),
    agent: secret
      .optional()
      .describe("acl.tokens.agent: the agent's own token, for its node and anti-entropy (secret)."),
    default: secret
      .optional()
      .describe(
        'acl.tokens.default: what requests without a token act as; rarely wanted (secret).',
      ),
    meshvisor: secret
      .optional()
      .describe(
        "meshvisor's own API calls (readiness, config entries, maintenance, deregistration, leave). Default: agent (secret).",
      ),
    service: secret
      .optional()
      .describe(
        'What services, sidecars and gateways register with, and their proxies get, unless they set their own token. Default: meshvisor (secret).',
      ),
  })
  .describe('The tokens a node uses; docs/acl.md gives the policy each one needs.');

export const AclSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe('acl.enabled; every agent of a datacenter agrees.'),
    defaultPolicy: z
      .enum(['allow', 'deny'])
      .default('deny')
      .describe('acl.default_policy: what a token may do beyond its policies.'),
    tokens: AclTokensSchema.prefault({}),
  })
  .describe('ACLs (docs/acl.md).');

/** A gossip key is the base64 of 32 random bytes (`consul keygen`). */
function isGossipKey(value: string): boolean {
  return (
    /^[A-Za-z0-9+/]{43}=$/.test(value) && Buffer.from(value, 'base64').toString('base64') === value
  );
}

export const ConsulSchema = z.strictObject({
  binary: z.string().min(1, 'must not be empty').default('consul'),
  version: z
    .string()
    .regex(/^\d+\.\d+(?:\.\d+)?$/, 'must be a version such as "1.10" or "1.18.2"')
    .optional()
    .describe(
      'The Consul version the agent runs. Keys newer than 1.10 are rendered only when this says so.',
    ),
  dataDir: fsPath.default('/opt/consul'),
  configDir: fsPath
    .default('/etc/consul.d')
    .describe('The rendered agent config goes to <configDir>/meshvisor.json.'),
  clientAddr: z
    .string()
    .min(1, 'must not be empty')
    .default('0.0.0.0')
    .describe('client_addr: where HTTP, gRPC and DNS listen (clients also bind the node address).'),
  retryJoin: z.array(z.string().min(1, 'must not be empty')).default([]),
  retryInterval: duration.optional().describe("retry_interval; Consul's default is 30s."),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error']).optional(),
  ports: PortsSchema.prefault({}),
  server: ServerOptionsSchema.optional(),
  encrypt: z
    .string()
    .refine(isGossipKey, 'must be a gossip key: base64 of 32 bytes, as `consul keygen` prints')
    .optional()
    .describe('Gossip encryption key (secret).'),
  tls: TlsSchema.optional(),
  acl: AclSchema.optional(),
  extraConfig: z
    .record(z.string(), z.unknown())
    .default({})
    .describe('Raw Consul agent config merged last, for keys the spec does not model.'),
});

export const CheckSchema = z.strictObject({
  http: z
    .string()
    .refine(
      (value) => value.startsWith('/') || URL.canParse(value),
      'must be a path on the service such as /health, or a full http(s):// URL',
    )
    .refine((value) => !/^[a-z]+:/i.test(value) || /^https?:\/\//i.test(value), {
      message: 'a full URL must use http:// or https://',
    })
    .describe('A path on the service (http://127.0.0.1:<port><path>) or a full URL.'),
  interval: duration.default('10s'),
  timeout: duration.optional(),
});

export const UpstreamSchema = z.strictObject({
  service: safeName,
  localPort: port.describe('The port the sidecar listens on, on 127.0.0.1, for this upstream.'),
  datacenter: datacenter.optional(),
});

export const SidecarSchema = z.strictObject({
  upstreams: z.array(UpstreamSchema).default([]),
});

export const ServiceSchema = z
  .strictObject({
    name: safeName,
    id: safeName.optional().describe('Default: the name.'),
    port,
    protocol: protocol.optional().describe('Set: a service-defaults config entry is written.'),
    check: CheckSchema.optional(),
    sidecar: SidecarSchema.optional().describe('Present: a Connect sidecar and its proxy.'),
    token: secret
      .optional()
      .describe(
        'ACL token the service and its sidecar register with, and its proxy gets. Default: consul.acl.tokens.service (secret).',
      ),
  })
  .transform((service) => ({ ...service, id: service.id ?? service.name }));

/** One label of a host name, or `*` as the leftmost label; an optional `:port` at the end. */
const HOST_PATTERN =
  /^(?:\*|(?:\*\.)?[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::\d{1,5})?)$/;

const listenerServiceName = z
  .string()
  .refine((value) => value === '*' || NAME_PATTERN.test(value), {
    message: 'must be a service name, or "*" for every service',
  });

export const ListenerServiceSchema = z
  .union([
    listenerServiceName,
    z.strictObject({
      name: listenerServiceName,
      hosts: z
        .array(
          z
            .string()
            .regex(
              HOST_PATTERN,
              'must be a host such as users.example.com or *.example.com (a wildcard only as the leftmost label)',
            ),
        )
        .min(1, 'must list at least one host')
        .optional(),
    }),
  ])
  .transform((value) => (typeof value === 'string' ? { name: value } : value));

export const ListenerSchema = z.strictObject({
  port,
  protocol: protocol.default('tcp'),
  services: z.array(ListenerServiceSchema).min(1, 'must list at least one service'),
});

export const GatewaySchema = z.strictObject({
  kind: z.literal('ingress'),
  name: safeName,
  port: port.describe("The gateway's registered address port (-address IP:PORT)."),
  listeners: z.array(ListenerSchema).min(1, 'must have at least one listener'),
  token: secret
    .optional()
    .describe(
      'ACL token the gateway registers with and its Envoy gets. Default: consul.acl.tokens.service (secret).',
    ),
});

/** Config entry kinds Consul 1.10 knows, in the order they are written (dependencies first). */
export const CONFIG_ENTRY_KINDS = [
  'proxy-defaults',
  'mesh',
  'service-defaults',
  'service-resolver',
  'service-splitter',
  'service-router',
  'ingress-gateway',
  'terminating-gateway',
  'service-intentions',
] as const;

export const ConfigEntrySchema = z
  .looseObject({
    Kind: z.enum(CONFIG_ENTRY_KINDS),
    Name: z.string().refine((value) => value === '*' || NAME_PATTERN.test(value), {
      message: 'must be a name of letters, digits, "-", "_" or "." (or "*" for intentions)',
    }),
  })
  .describe('Any Consul config entry, as in a `consul config write` JSON file (Kind, Name, ...).');

export const ProxySchema = z.strictObject({
  mode: z
    .enum(['envoy', 'builtin'])
    .default('envoy')
    .describe('builtin: `consul connect proxy` (no Envoy needed; gateways still use Envoy).'),
  envoyBinary: z.string().min(1, 'must not be empty').default('envoy'),
  adminPortBase: port.default(19000).describe('Envoy i (sidecars, then gateways) gets base + i.'),
});

export const StatusSchema = z.strictObject({
  listen: listenAddress
    .default(DEFAULT_STATUS_LISTEN)
    .describe('IPv4:PORT or [IPv6]:PORT, an IP and never a hostname: /status, /readyz, /metrics.'),
});

const seconds = (min: number, fallback: number) =>
  z.number().int('must be a whole number').min(min, `must be ${min} or more`).default(fallback);

export const TimeoutsSchema = z.strictObject({
  readySeconds: seconds(1, 120).describe('Deadline for every readiness stage.'),
  stopSeconds: seconds(1, 25).describe('Deadline for the whole ordered stop.'),
  drainSeconds: seconds(0, 5).describe('How long each Envoy drains before it quits.'),
  propagationSeconds: z
    .number()
    .min(0, 'must be 0 or more')
    .max(10, 'must be 10 or less')
    .default(0.25)
    .describe(
      'How long inbound listeners keep accepting once a stop has put the services out of rotation, for peers to see it (fractions allowed; at most drainSeconds counts). Then they close and the agent leaves while connections finish.',
    ),
});

const NodeSpecObject = z
  .strictObject({
    $schema: z.string().optional().describe('Ignored; lets editors find this schema.'),
    datacenter,
    role: z.enum(['server', 'client']),
    nodeName: safeName.optional().describe('Default: the hostname.'),
    address: AddressSchema.prefault({}),
    consul: ConsulSchema.prefault({}),
    services: z.array(ServiceSchema).default([]),
    configEntries: z.array(ConfigEntrySchema).default([]),
    gateways: z.array(GatewaySchema).default([]),
    proxy: ProxySchema.prefault({}),
    status: StatusSchema.prefault({}),
    timeouts: TimeoutsSchema.prefault({}),
  })
  .meta({
    title: 'meshvisor node spec',
    description:
      'One Consul service-mesh node: its agent, services, sidecars, gateways and config entries.',
  });

/** The spec as parsed, before node-level defaults that depend on the machine (the hostname). */
export type ParsedNodeSpec = z.output<typeof NodeSpecObject>;

export const NodeSpecSchema = NodeSpecObject.superRefine(checkNode).transform((spec) => ({
  ...spec,
  nodeName: spec.nodeName ?? hostname(),
}));

export type NodeSpec = z.output<typeof NodeSpecSchema>;
export type NodeSpecInput = z.input<typeof NodeSpecSchema>;
export type ServiceSpec = NodeSpec['services'][number];
export type UpstreamSpec = NonNullable<ServiceSpec['sidecar']>['upstreams'][number];
export type GatewaySpec = NodeSpec['gateways'][number];
export type ListenerSpec = GatewaySpec['listeners'][number];
export type ConfigEntrySpec = NodeSpec['configEntries'][number];
export type ConsulSpec = NodeSpec['consul'];
export type ServerOptions = z.output<typeof ServerOptionsSchema>;
