# A SERVICE token: services[].token in the node spec (else consul.acl.tokens.service, else the
# meshvisor token). Rendered as "token" on the service in the agent config: the service AND its
# sidecar register with it (the sidecar inherits it), and the sidecar's Envoy gets it as
# CONSUL_HTTP_TOKEN (never in argv) for `consul connect envoy -sidecar-for <id>` and its xDS
# stream.
#
# Who needs it: every node hosting services; one token per service name.
#
# Create it. Best, a service identity, which grants exactly the rules below for SERVICE_NAME:
#   consul acl token create -description "service users" -service-identity "users"
# Or from this file:
#   sed 's/SERVICE_NAME/users/g' config/acl/service.hcl > service-users.hcl
#   consul acl policy create -name service-users -rules @service-users.hcl
#   consul acl token create -description "service users" -policy-name service-users
#
# Evidence (recordings/consul-1.10.12/11-acl):
# - fact 8: a per-service "token" is accepted by 1.10 and is enough for the sidecar, which
#   inherits it (d-service-tokens/3-service-token); fact 7: without it the services never reach
#   the catalog (`Service registration blocked by ACLs`).
# - fact 10: registering needs service:write on the name ("Missing service:write on users").
# - fact 9: `consul connect envoy -sidecar-for users-1` with a token holding only
#   `service "users" write` exits 1 "No sidecar proxy registered for users-1": it cannot see
#   users-sidecar-proxy (GET /v1/agent/service/users-1-sidecar-proxy 403). With
#   `service "users-sidecar-proxy" write` + service_prefix read + node_prefix read it exits 0
#   (e-envoy-bootstrap-tokens/05, f-limited-tokens/sidecar-only-documented/24).
# Not recorded: this exact combination registering through the agent config (the recording's
# service tokens were the management token), Envoy's xDS stream with it (no Envoy binary was
# recorded), and -service-identity itself (Consul documents it from 1.5).

# The service itself: registration and anti-entropy of the service and its check.
service "SERVICE_NAME" { policy = "write" }

# Its sidecar (Consul names it <name>-sidecar-proxy): registration, `consul connect envoy`
# finding it, and the proxy's own xDS.
service "SERVICE_NAME-sidecar-proxy" { policy = "write" }

# Upstream discovery and the catalog reads the proxy makes.
service_prefix "" { policy = "read" }
node_prefix "" { policy = "read" }
