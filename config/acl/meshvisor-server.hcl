# The MESHVISOR token of the node that writes the datacenter's config entries:
# consul.acl.tokens.meshvisor in the node spec (default: consul.acl.tokens.agent).
#
# Who needs it: a node whose spec writes service-intentions, proxy-defaults or mesh entries (and
# ingress-gateway or terminating-gateway). In deploy/ecs that is the server, which holds the
# datacenter's intentions; the other nodes' meshvisor tokens cannot change intentions.
#
# Create it, one policy per node:
#   sed 's/NODE_NAME/consul-server/g' config/acl/meshvisor-server.hcl > meshvisor-consul-server.hcl
#   consul acl policy create -name meshvisor-consul-server -rules @meshvisor-consul-server.hcl
#   consul acl token create -description "meshvisor consul-server" -policy-name meshvisor-consul-server
#
# Evidence: these are exactly the rules of
# recordings/consul-1.10.12/11-acl/f-limited-tokens/smallest-final/policy.hcl, the smallest
# policy that did everything meshvisor does (fact 12): agent/self, members, catalog, agent
# services, register, maintenance, deregister, every config entry kind meshvisor writes, envoy
# bootstrap, reload, and leave (200 after 3.75 s; the agent then exited 0).
# The first three rules are those of meshvisor-client.hcl; see there for each call they serve.

agent "NODE_NAME" { policy = "write" }
node_prefix "" { policy = "read" }

# service:write for service-defaults/-resolver/-splitter/-router, maintenance and deregister;
# intentions = "write" for service-intentions, which Consul checks on the destination service:
# without it 403 "rpc error making call: Permission denied" (column plus-agent-operator), with
# it 200 (plus-agent-operator-intentions). Fact 11.
service_prefix "" {
  policy     = "write"
  intentions = "write"
}

# proxy-defaults and ingress-gateway (and, by the same rule in Consul, mesh and
# terminating-gateway, which the recording did not try): fact 11; `mesh = "write"` grants
# neither in 1.10.12 (column plus-agent-mesh). operator:write implies mesh:write in >= 1.11.
operator = "write"
