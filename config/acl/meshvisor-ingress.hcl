# The MESHVISOR token of a node with gateways[]: consul.acl.tokens.meshvisor in the node spec
# (default: consul.acl.tokens.agent). meshvisor writes each gateway's ingress-gateway config
# entry with it, which Consul 1.10 grants only to operator = "write".
#
# Who needs it: a node with an ingress gateway that writes no service-intentions (in deploy/ecs:
# the ingress node). If it also writes service-intentions, use meshvisor-server.hcl instead.
#
# Create it, one policy per node:
#   sed 's/NODE_NAME/ingress-node/g' config/acl/meshvisor-ingress.hcl > meshvisor-ingress-node.hcl
#   consul acl policy create -name meshvisor-ingress-node -rules @meshvisor-ingress-node.hcl
#   consul acl token create -description "meshvisor ingress-node" -policy-name meshvisor-ingress-node
#
# Evidence: recordings/consul-1.10.12/11-acl/f-limited-tokens/matrix.summary.json, column
# plus-agent-operator (these rules with node_prefix write instead of read): put-config-ingress-
# gateway and put-config-proxy-defaults-global 200, put-config-service-intentions-todos 403.
# The first three rules are those of meshvisor-client.hcl; see there for each call they serve.

agent "NODE_NAME" { policy = "write" }
node_prefix "" { policy = "read" }
service_prefix "" { policy = "write" }

# PUT /v1/config of ingress-gateway (and proxy-defaults). Without it both answer 403
# "rpc error making call: Permission denied" through a client agent (fact 10), however much
# service write the token has; `mesh = "write"` is accepted by 1.10.12 but grants neither
# (fact 11, column plus-agent-mesh). Consul >= 1.11 asks for mesh:write, which operator:write
# implies, so this rule also holds for the 1.22 images.
operator = "write"
