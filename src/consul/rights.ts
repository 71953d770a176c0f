// The ACL rights each part of a node needs, derived once from the spec: `doctor` checks each
// token against them, and the errors of `run` (a refused config entry, a proxy whose token
// cannot see its registration) name them (docs/acl.md, config/acl/*.hcl).
import { renderConfigEntries } from '../render/config-entries.ts';
import { apiToken, gatewayToken, serviceToken, type NodeSpec } from '../spec/index.ts';

export interface Right {
  resource: 'agent' | 'node' | 'service' | 'intention' | 'operator';
  segment: string;
  access: 'read' | 'write';
  /** What needs it. */
  why: string[];
}

export interface TokenNeed {
  id: string;
  title: string;
  /** The spec field the token comes from. */
  field: string;
  token: string;
  rights: Right[];
  /** The policy file (or identity) docs/acl.md gives for it. */
  policy: string;
}

/** The rule that grants a right, as a policy writes it. */
export function ruleText(right: Grant): string {
  switch (right.resource) {
    case 'operator':
      return `operator = "${right.access}"`;
    case 'intention':
      return `service "${right.segment}" { intentions = "${right.access}" }`;
    default:
      return `${right.resource} "${right.segment}" { policy = "${right.access}" }`;
  }
}

function addRight(rights: Right[], right: Omit<Right, 'why'>, why: string): void {
  const same = rights.find(
    (r) =>
      r.resource === right.resource && r.segment === right.segment && r.access === right.access,
  );
  if (same) {
    if (!same.why.includes(why)) same.why.push(why);
  } else rights.push({ ...right, why: [why] });
}

/** A right without the reasons that need it. */
export type Grant = Omit<Right, 'why'>;

/**
 * What Consul 1.10 demands to write a config entry (recording 11,
 * f-limited-tokens/matrix.summary.json): operator write for the mesh-wide kinds, intentions
 * write on the destination for intentions, else write on the service the entry names.
 */
export function entryWriteRight(entry: { Kind: string; Name: string }): Grant {
  switch (entry.Kind) {
    case 'proxy-defaults':
    case 'ingress-gateway':
    case 'terminating-gateway':
    case 'mesh':
      return { resource: 'operator', segment: '', access: 'write' };
    case 'service-intentions':
      return { resource: 'intention', segment: entry.Name, access: 'write' };
    default:
      return { resource: 'service', segment: entry.Name, access: 'write' };
  }
}

/** Where each token comes from, for errors that name the token to fix. */
export const TOKEN_SOURCES = {
  meshvisor: 'the meshvisor token (consul.acl.tokens.meshvisor, else tokens.agent)',
  service:
    'the token it registers with (services[].token, else consul.acl.tokens.service, else the meshvisor token)',
} as const;

/** Each token the spec sets and the rights its part of the node needs (docs/acl.md). */
export function tokenNeeds(spec: NodeSpec): TokenNeed[] {
  const acl = spec.consul.acl;
  if (!acl?.enabled) return [];
  const node = spec.nodeName;
  const needs: TokenNeed[] = [];
  if (acl.tokens.agent) {
    const rights: Right[] = [];
    addRight(
      rights,
      { resource: 'node', segment: node, access: 'write' },
      'the agent registers and syncs its node (without it: "Node info update blocked by ACLs")',
    );
    needs.push({
      id: 'acl.agent',
      title: 'agent token',
      field: 'consul.acl.tokens.agent',
      token: acl.tokens.agent,
      rights,
      policy: `config/acl/agent.hcl, or -node-identity "${node}:${spec.datacenter}"`,
    });
  }

  const meshvisor = apiToken(spec);
  if (meshvisor) {
    const rights: Right[] = [];
    addRight(
      rights,
      { resource: 'agent', segment: node, access: 'write' },
      'GET /v1/agent/self (stage http-up), PUT /v1/agent/leave (stop)',
    );
    addRight(
      rights,
      { resource: 'node', segment: node, access: 'read' },
      `GET /v1/catalog/node/${node} (stage node-synced); the policy files grant node_prefix "" read`,
    );
    for (const s of spec.services) {
      addRight(
        rights,
        { resource: 'service', segment: s.name, access: 'write' },
        `maintenance and deregistration of ${s.id} (stop)`,
      );
      if (s.sidecar) {
        addRight(
          rights,
          { resource: 'service', segment: `${s.name}-sidecar-proxy`, access: 'read' },
          `GET /v1/agent/services must list ${s.id}-sidecar-proxy (stage services-registered)`,
        );
      }
    }
    for (const g of spec.gateways) {
      addRight(
        rights,
        { resource: 'service', segment: g.name, access: 'write' },
        `deregistration of gateway ${g.name} (stop)`,
      );
    }
    let operator = false;
    let intentions = false;
    for (const entry of renderConfigEntries(spec)) {
      const why = `PUT /v1/config ${entry.Kind} ${entry.Name}`;
      const right = entryWriteRight(entry);
      addRight(rights, right, why);
      operator ||= right.resource === 'operator';
      intentions ||= right.resource === 'intention';
    }
    const file = intentions
      ? 'meshvisor-server.hcl'
      : operator
        ? 'meshvisor-ingress.hcl'
        : 'meshvisor-client.hcl';
    needs.push({
      id: 'acl.meshvisor',
      title: 'meshvisor token',
      field: acl.tokens.meshvisor
        ? 'consul.acl.tokens.meshvisor'
        : 'consul.acl.tokens.agent (tokens.meshvisor is not set)',
      token: meshvisor,
      rights,
      policy: `config/acl/${file}`,
    });
  }

  spec.services.forEach((s, i) => {
    const token = serviceToken(spec, s);
    if (!token) return;
    const rights: Right[] = [];
    addRight(
      rights,
      { resource: 'service', segment: s.name, access: 'write' },
      `registering ${s.id}`,
    );
    if (s.sidecar) {
      addRight(
        rights,
        { resource: 'service', segment: `${s.name}-sidecar-proxy`, access: 'write' },
        `registering ${s.id}-sidecar-proxy and \`consul connect envoy -sidecar-for ${s.id}\` finding it`,
      );
      for (const u of s.sidecar.upstreams) {
        addRight(
          rights,
          { resource: 'service', segment: u.service, access: 'read' },
          `the proxy discovers upstream ${u.service}`,
        );
      }
      addRight(
        rights,
        { resource: 'node', segment: node, access: 'read' },
        'the proxy\'s catalog reads; the policy grants node_prefix "" read',
      );
    }
    needs.push({
      id: `acl.service:${s.id}`,
      title: `token of service ${s.id}`,
      field: s.token ? `services[${i}].token` : tokenFallbackField(spec),
      token,
      rights,
      policy: `config/acl/service.hcl, or -service-identity "${s.name}"`,
    });
  });

  spec.gateways.forEach((g, i) => {
    const token = gatewayToken(spec, g);
    if (!token) return;
    const rights: Right[] = [];
    addRight(
      rights,
      { resource: 'service', segment: g.name, access: 'write' },
      `\`consul connect envoy -gateway=ingress -register\` registers ${g.name}`,
    );
    for (const l of g.listeners) {
      for (const svc of l.services) {
        if (svc.name !== '*') {
          addRight(
            rights,
            { resource: 'service', segment: svc.name, access: 'read' },
            `listener ${l.port} routes to ${svc.name}`,
          );
        }
      }
    }
    addRight(
      rights,
      { resource: 'node', segment: node, access: 'read' },
      'the gateway\'s catalog reads; the policy grants node_prefix "" read',
    );
    needs.push({
      id: `acl.gateway:${g.name}`,
      title: `token of gateway ${g.name}`,
      field: g.token ? `gateways[${i}].token` : tokenFallbackField(spec),
      token,
      rights,
      policy: 'config/acl/gateway.hcl',
    });
  });
  return needs;
}

function tokenFallbackField(spec: NodeSpec): string {
  const tokens = spec.consul.acl?.tokens;
  if (tokens?.service) return 'consul.acl.tokens.service';
  if (tokens?.meshvisor) return 'consul.acl.tokens.meshvisor (no service token set)';
  return 'consul.acl.tokens.agent (no service or meshvisor token set)';
}

/**
 * What the token of a proxy needs, for the hint of a proxy that cannot find its registration
 * (with ACLs, `consul connect envoy` then says "No sidecar proxy registered", not 403).
 */
export function proxyTokenHint(spec: NodeSpec, proxy: { kind: string; serviceId: string }): string {
  const id =
    proxy.kind === 'sidecar' ? `acl.service:${proxy.serviceId}` : `acl.gateway:${proxy.serviceId}`;
  const need = tokenNeeds(spec).find((n) => n.id === id);
  const rules = need?.rights.map(ruleText).join(', ') ?? 'its service write';
  return `the ACL token this proxy gets (${need?.field ?? 'its token'}) needs ${rules} (docs/acl.md, ${need?.policy ?? 'config/acl'})`;
}
