// The Envoy bootstrap `consul connect envoy` 1.10.12 generates (S: command/connect/envoy/
// bootstrap_tpl.go). Printed with -bootstrap, or written into the --config-path FIFO. The shape and
// key order are those of 05-connect-envoy/*.envoy.json, so the text is byte-identical for the same
// inputs: JSON indented by 2, then one newline (the FIFO) or two (stdout, through the CLI's UI).

export interface HostPort {
  address: string;
  port: number;
}

export interface BootstrapArgs {
  admin: HostPort;
  /** node.cluster: the proxy's service name. */
  cluster: string;
  /** node.id: the proxy ID. */
  proxyId: string;
  /** The agent's gRPC (xDS) address, cluster local_agent. */
  agentGrpc: HostPort;
  token: string;
  datacenter: string;
  /** Gateways only: the envoy_ready_listener (ip:port of -address). */
  readyListener?: HostPort;
}

export const ENVOY_VERSION = '1.20.2';

const DESTINATION_TAGS: [string, string][] = [
  [
    'consul.destination.custom_hash',
    String.raw`^cluster\.(?:passthrough~)?((?:([^.]+)~)?(?:[^.]+\.)?[^.]+\.[^.]+\.[^.]+\.[^.]+\.[^.]+\.consul\.)`,
  ],
  [
    'consul.destination.service_subset',
    String.raw`^cluster\.(?:passthrough~)?((?:[^.]+~)?(?:([^.]+)\.)?[^.]+\.[^.]+\.[^.]+\.[^.]+\.[^.]+\.consul\.)`,
  ],
  [
    'consul.destination.service',
    String.raw`^cluster\.(?:passthrough~)?((?:[^.]+~)?(?:[^.]+\.)?([^.]+)\.[^.]+\.[^.]+\.[^.]+\.[^.]+\.consul\.)`,
  ],
  [
    'consul.destination.namespace',
    String.raw`^cluster\.(?:passthrough~)?((?:[^.]+~)?(?:[^.]+\.)?[^.]+\.([^.]+)\.[^.]+\.[^.]+\.[^.]+\.consul\.)`,
  ],
  [
    'consul.destination.datacenter',
    String.raw`^cluster\.(?:passthrough~)?((?:[^.]+~)?(?:[^.]+\.)?[^.]+\.[^.]+\.([^.]+)\.[^.]+\.[^.]+\.consul\.)`,
  ],
  [
    'consul.destination.routing_type',
    String.raw`^cluster\.(?:passthrough~)?((?:[^.]+~)?(?:[^.]+\.)?[^.]+\.[^.]+\.[^.]+\.([^.]+)\.[^.]+\.consul\.)`,
  ],
  [
    'consul.destination.trust_domain',
    String.raw`^cluster\.(?:passthrough~)?((?:[^.]+~)?(?:[^.]+\.)?[^.]+\.[^.]+\.[^.]+\.[^.]+\.([^.]+)\.consul\.)`,
  ],
  [
    'consul.destination.target',
    String.raw`^cluster\.(?:passthrough~)?(((?:[^.]+~)?(?:[^.]+\.)?[^.]+\.[^.]+\.[^.]+)\.[^.]+\.[^.]+\.consul\.)`,
  ],
  [
    'consul.destination.full_target',
    String.raw`^cluster\.(?:passthrough~)?(((?:[^.]+~)?(?:[^.]+\.)?[^.]+\.[^.]+\.[^.]+\.[^.]+\.[^.]+)\.consul\.)`,
  ],
  ['consul.upstream.service', String.raw`^(?:tcp|http)\.upstream\.(([^.]+)(?:\.[^.]+)?\.[^.]+\.)`],
  [
    'consul.upstream.datacenter',
    String.raw`^(?:tcp|http)\.upstream\.([^.]+(?:\.[^.]+)?\.([^.]+)\.)`,
  ],
  [
    'consul.upstream.namespace',
    String.raw`^(?:tcp|http)\.upstream\.([^.]+(?:\.([^.]+))?\.[^.]+\.)`,
  ],
  [
    'consul.custom_hash',
    String.raw`^cluster\.((?:([^.]+)~)?(?:[^.]+\.)?[^.]+\.[^.]+\.[^.]+\.[^.]+\.[^.]+\.consul\.)`,
  ],
  [
    'consul.service_subset',
    String.raw`^cluster\.((?:[^.]+~)?(?:([^.]+)\.)?[^.]+\.[^.]+\.[^.]+\.[^.]+\.[^.]+\.consul\.)`,
  ],
  [
    'consul.service',
    String.raw`^cluster\.((?:[^.]+~)?(?:[^.]+\.)?([^.]+)\.[^.]+\.[^.]+\.[^.]+\.[^.]+\.consul\.)`,
  ],
  [
    'consul.namespace',
    String.raw`^cluster\.((?:[^.]+~)?(?:[^.]+\.)?[^.]+\.([^.]+)\.[^.]+\.[^.]+\.[^.]+\.consul\.)`,
  ],
  [
    'consul.datacenter',
    String.raw`^cluster\.((?:[^.]+~)?(?:[^.]+\.)?[^.]+\.[^.]+\.([^.]+)\.[^.]+\.[^.]+\.consul\.)`,
  ],
  [
    'consul.routing_type',
    String.raw`^cluster\.((?:[^.]+~)?(?:[^.]+\.)?[^.]+\.[^.]+\.[^.]+\.([^.]+)\.[^.]+\.consul\.)`,
  ],
  [
    'consul.trust_domain',
    String.raw`^cluster\.((?:[^.]+~)?(?:[^.]+\.)?[^.]+\.[^.]+\.[^.]+\.[^.]+\.([^.]+)\.consul\.)`,
  ],
  [
    'consul.target',
    String.raw`^cluster\.(((?:[^.]+~)?(?:[^.]+\.)?[^.]+\.[^.]+\.[^.]+)\.[^.]+\.[^.]+\.consul\.)`,
  ],
  [
    'consul.full_target',
    String.raw`^cluster\.(((?:[^.]+~)?(?:[^.]+\.)?[^.]+\.[^.]+\.[^.]+\.[^.]+\.[^.]+)\.consul\.)`,
  ],
];

function socketAddress(hp: HostPort) {
  return { socket_address: { address: hp.address, port_value: hp.port } };
}

function staticCluster(
  name: string,
  timeout: string,
  protocol: 'http2_protocol_options' | 'http_protocol_options',
  hp: HostPort,
) {
  return {
    name,
    ignore_health_on_host_removal: false,
    connect_timeout: timeout,
    type: 'STATIC',
    [protocol]: {},
    loadAssignment: {
      clusterName: name,
      endpoints: [{ lbEndpoints: [{ endpoint: { address: socketAddress(hp) } }] }],
    },
  };
}

function readyListener(hp: HostPort) {
  return {
    name: 'envoy_ready_listener',
    address: socketAddress(hp),
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typedConfig: {
              '@type':
                'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
              stat_prefix: 'envoy_ready',
              codec_type: 'HTTP1',
              route_config: {
                name: 'self_admin_route',
                virtual_hosts: [
                  {
                    name: 'self_admin',
                    domains: ['*'],
                    routes: [
                      {
                        match: { path: '/ready' },
                        route: { cluster: 'self_admin', prefix_rewrite: '/ready' },
                      },
                      { match: { prefix: '/' }, direct_response: { status: 404 } },
                    ],
                  },
                ],
              },
              http_filters: [{ name: 'envoy.filters.http.router' }],
            },
          },
        ],
      },
    ],
  };
}

export function buildBootstrap(a: BootstrapArgs) {
  const clusters = [staticCluster('local_agent', '1s', 'http2_protocol_options', a.agentGrpc)];
  if (a.readyListener)
    clusters.push(staticCluster('self_admin', '5s', 'http_protocol_options', a.admin));
  const staticResources = a.readyListener
    ? { clusters, listeners: [readyListener(a.readyListener)] }
    : { clusters };
  return {
    admin: { access_log_path: '/dev/null', address: socketAddress(a.admin) },
    node: {
      cluster: a.cluster,
      id: a.proxyId,
      metadata: { namespace: 'default', envoy_version: ENVOY_VERSION },
    },
    static_resources: staticResources,
    stats_config: {
      stats_tags: [
        ...DESTINATION_TAGS.map(([tag_name, regex]) => ({ regex, tag_name })),
        { tag_name: 'local_cluster', fixed_value: a.cluster },
        { tag_name: 'consul.source.service', fixed_value: a.cluster },
        { tag_name: 'consul.source.namespace', fixed_value: 'default' },
        { tag_name: 'consul.source.datacenter', fixed_value: a.datacenter },
      ],
      use_all_default_tags: true,
    },
    dynamic_resources: {
      lds_config: { ads: {}, resource_api_version: 'V3' },
      cds_config: { ads: {}, resource_api_version: 'V3' },
      ads_config: {
        api_type: 'DELTA_GRPC',
        transport_api_version: 'V3',
        grpc_services: {
          initial_metadata: [{ key: 'x-consul-token', value: a.token }],
          envoy_grpc: { cluster_name: 'local_agent' },
        },
      },
    },
  };
}

export type Bootstrap = ReturnType<typeof buildBootstrap>;

/** The text written into the FIFO (and, plus one more newline, printed by -bootstrap). */
export function bootstrapText(a: BootstrapArgs): string {
  return JSON.stringify(buildBootstrap(a), null, 2) + '\n';
}
