# The AGENT token: consul.acl.tokens.agent in the node spec, rendered as acl.tokens.agent.
#
# Who needs it: every node with consul.acl, servers and clients alike; with defaultPolicy deny
# `meshvisor validate` requires it. The Consul agent registers its own node with it and keeps the
# node in sync (anti-entropy). It does NOT register the node's services: each service registers
# with its own token (services[].token, config/acl/service.hcl). It is also what meshvisor's own
# calls use when consul.acl.tokens.meshvisor is not set, but give meshvisor its own token.
#
# Create it, one per node (NODE_NAME = the spec's nodeName, DATACENTER = its datacenter):
#   Best, a node identity (Consul >= 1.8.1), which grants exactly the rules below:
#     consul acl token create -description "agent NODE_NAME" -node-identity "NODE_NAME:DATACENTER"
#   Or from this file (policy names are unique; creating one twice answers 500 "A Policy with
#   Name ... already exists", recording 11 fact 11):
#     sed 's/NODE_NAME/c1-node/g' config/acl/agent.hcl > agent-c1-node.hcl
#     consul acl policy create -name agent-c1-node -rules @agent-c1-node.hcl
#     consul acl token create -description "agent c1-node" -policy-name agent-c1-node
#
# Evidence (recordings/consul-1.10.12/11-acl):
# - fact 4: a server with no agent token logs `Node info update blocked by ACLs` (accessor
#   00000000-0000-0000-0000-000000000002, the anonymous token) and its catalog node keeps
#   TaggedAddresses null: the node is written with this token.
# - fact 7: with only acl.tokens.agent set the agent logs `Synced node info`, but its services
#   are `Service registration blocked by ACLs` (they do not register with the agent token).
# - fact 12: meshvisor's token needs no node write (smallest-without-node-write): this token
#   registers the node.
# Not recorded: these two narrow rules themselves. The recordings' agent token was the management
# token; node write on itself plus service read is what Consul documents for an agent token and
# what a node identity grants.

# Register and update its own catalog node (anti-entropy).
node "NODE_NAME" { policy = "write" }

# Read the catalog's services (the agent's own lookups, e.g. DNS and upstream discovery).
service_prefix "" { policy = "read" }
