// The Consul agent config keys meshvisor renders, as Consul 1.10 (and every later release)
// accepts them. The rendered output is checked against this before it is written, so a template
// change that emits a key 1.10 rejects ("invalid config key", contract §1) fails in tests.
import { z } from 'zod';

const tlsFiles = {
  ca_file: z.string().optional(),
  cert_file: z.string().optional(),
  key_file: z.string().optional(),
  verify_incoming: z.boolean(),
  verify_outgoing: z.boolean(),
};

const ServiceDefinitionSchema = z.strictObject({
  id: z.string(),
  name: z.string(),
  port: z.number().int(),
  token: z.string().optional(),
  check: z
    .strictObject({
      http: z.string().url(),
      interval: z.string(),
      timeout: z.string().optional(),
    })
    .optional(),
  connect: z
    .strictObject({
      sidecar_service: z.strictObject({
        proxy: z.strictObject({
          local_service_address: z.literal('127.0.0.1'),
          upstreams: z
            .array(
              z.strictObject({
                destination_name: z.string(),
                local_bind_port: z.number().int(),
                datacenter: z.string().optional(),
              }),
            )
            .optional(),
        }),
      }),
    })
    .optional(),
});

export const AgentConfigSchema = z.strictObject({
  datacenter: z.string(),
  node_name: z.string(),
  server: z.boolean(),
  bootstrap_expect: z.number().int().optional(),
  ui_config: z.strictObject({ enabled: z.boolean() }).optional(),
  performance: z.strictObject({ raft_multiplier: z.number().int() }).optional(),
  data_dir: z.string(),
  bind_addr: z.string(),
  client_addr: z.string(),
  addresses: z.strictObject({ http: z.string(), grpc: z.string() }).optional(),
  ports: z.strictObject({
    http: z.number().int(),
    grpc: z.number().int(),
    grpc_tls: z.number().int().optional(),
    sidecar_min_port: z.number().int(),
    sidecar_max_port: z.number().int(),
  }),
  connect: z.strictObject({ enabled: z.literal(true) }),
  enable_central_service_config: z.literal(true),
  retry_join: z.array(z.string()).optional(),
  retry_interval: z.string().optional(),
  log_level: z.string().optional(),
  encrypt: z.string().optional(),
  ...z.strictObject(tlsFiles).partial().shape,
  /** Consul 1.12+ only: rendered only when consul.version says so. */
  tls: z.strictObject({ defaults: z.strictObject(tlsFiles) }).optional(),
  auto_encrypt: z
    .union([
      z.strictObject({ tls: z.literal(true) }),
      z.strictObject({ allow_tls: z.literal(true) }),
    ])
    .optional(),
  acl: z
    .strictObject({
      enabled: z.boolean(),
      default_policy: z.enum(['allow', 'deny']),
      tokens: z
        .strictObject({
          // 1.10 spellings; initial_management/agent_recovery only for consul.version >= 1.11.
          master: z.string(),
          agent_master: z.string(),
          initial_management: z.string(),
          agent_recovery: z.string(),
          agent: z.string(),
          default: z.string(),
        })
        .partial(),
    })
    .optional(),
  services: z.array(ServiceDefinitionSchema).optional(),
  leave_on_terminate: z.boolean(),
  disable_update_check: z.literal(true),
});

export type AgentConfig = z.output<typeof AgentConfigSchema>;
