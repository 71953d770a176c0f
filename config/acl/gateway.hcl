# A GATEWAY token: gateways[].token in the node spec (else consul.acl.tokens.service, else the
# meshvisor token). meshvisor runs `consul connect envoy -gateway=ingress -register -service
# <name> -address <ip>:<port>` with it as CONSUL_HTTP_TOKEN (never in argv): the gateway
# registers itself with it and its Envoy gets it for the xDS stream.
#
# Who needs it: a node with gateways[] (deploy/ecs: the ingress node); one per gateway name.
#
# Create it (GATEWAY_NAME = gateways[].name, e.g. ingress-service):
#   sed 's/GATEWAY_NAME/ingress-service/g' config/acl/gateway.hcl > gateway-ingress-service.hcl
#   consul acl policy create -name gateway-ingress-service -rules @gateway-ingress-service.hcl
#   consul acl token create -description "gateway ingress-service" -policy-name gateway-ingress-service
# A service identity (-service-identity "ingress-service") grants these rules too, plus an
# unused write on ingress-service-sidecar-proxy.
#
# Evidence (recordings/consul-1.10.12/11-acl):
# - fact 10: with a token lacking service:write on the gateway, `-gateway=ingress -register`
#   exits 1 `Error registering service "ingress-service": Unexpected response code: 403
#   (Permission denied: Missing service:write on ingress-service)`
#   (f-limited-tokens/sidecar-only-documented/25, a token that HAS service_prefix "" read and
#   node_prefix "" read); every token with service write on it exits 0 (the other columns).
# Not recorded: this exact narrow policy (the recorded passes had service_prefix "" write), and
# the gateway's xDS stream (no Envoy binary was recorded). The reads are what Consul documents
# for an ingress gateway: the services behind its listeners and their nodes.

# Registration (and anti-entropy) of the gateway service, and its own xDS.
service "GATEWAY_NAME" { policy = "write" }

# The services it routes to ("*" listeners: every service) and the nodes they run on.
service_prefix "" { policy = "read" }
node_prefix "" { policy = "read" }
