# The MESHVISOR token of a node that writes no operator-level config entries:
# consul.acl.tokens.meshvisor in the node spec (default: consul.acl.tokens.agent). meshvisor
# sends it on its own HTTP calls; it is never rendered into the agent config, argv or /status.
#
# Who needs it: a node whose spec writes at most service-defaults, service-resolver,
# service-splitter and service-router entries (a service's `protocol` writes service-defaults).
# In deploy/ecs: node1 and node2. A node writing proxy-defaults, mesh, ingress-gateway,
# terminating-gateway or service-intentions needs meshvisor-server.hcl; a node with gateways[]
# (its ingress-gateway entry) needs meshvisor-ingress.hcl.
#
# Create it, one policy per node (the agent rule names the node; Consul has no identity for it):
#   sed 's/NODE_NAME/c1-node/g' config/acl/meshvisor-client.hcl > meshvisor-c1-node.hcl
#   consul acl policy create -name meshvisor-c1-node -rules @meshvisor-c1-node.hcl
#   consul acl token create -description "meshvisor c1-node" -policy-name meshvisor-c1-node
#
# Evidence: recordings/consul-1.10.12/11-acl/f-limited-tokens/matrix.summary.json (every call x
# every policy, made through the client agent cluster-1) and README facts 10-12. These are the
# rules of smallest-final (fact 12) without `operator` and `intentions`; columns plus-agent,
# plus-agent-operator and plus-agent-operator-intentions show that those two lines change only
# proxy-defaults, ingress-gateway and service-intentions.

# GET /v1/agent/self (readiness stage http-up) and PUT /v1/agent/leave (the ordered stop).
# Without it both answer 403 "Permission denied" (column limited-node-service-write); with it
# 200 (plus-agent; agent-leave 200 with smallest-final, and the agent then exited 0).
agent "NODE_NAME" { policy = "write" }

# GET /v1/agent/members (the member count in /status) and GET /v1/catalog/node/NODE_NAME
# (readiness stage node-synced). Without node_prefix read the members list is filtered to the
# node itself, not denied (smallest-without-node_prefix-read/04-agent-members.json). No node
# write is needed: the agent token registers the node (smallest-without-node-write).
node_prefix "" { policy = "read" }

# GET /v1/agent/services (stage services-registered; an ACL filters this list, fact 9),
# PUT /v1/agent/service/maintenance/<id> and PUT /v1/agent/service/deregister/<id> (the ordered
# stop; gateways are deregistered too), and PUT /v1/config of service-defaults, -resolver,
# -splitter and -router, which in 1.10 need only service:write on that name (fact 10).
# Without write: 403 "Permission denied: Missing service:write on users" for maintenance, and
# 500 "Unknown service" for deregister (column sidecar-only-documented).
# It could be narrowed to the node's own service and gateway names (one `service "<name>"` rule
# each); that was not tried in the recording.
service_prefix "" { policy = "write" }
