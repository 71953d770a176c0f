// Ports this node's programs will bind, tried now on the addresses they will bind: the status
// endpoint, Consul's (HTTP, gRPC, DNS, serf, server RPC), every Envoy admin port, the sidecar
// range, the upstream listeners and the gateway listeners. Each is bound and released at once.
import { consulBinds } from '../consul/index.ts';
import { envoyAdminPorts } from '../envoy/index.ts';
import { parseListenAddress, type NodeSpec } from '../spec/index.ts';
import { worst, plural, type CheckResult } from './check.ts';
import { canBind } from './probe.ts';
import type { Detail } from './report.ts';

export interface Bind {
  what: string;
  /** The spec field that sets the port (or where Consul's default comes from). */
  field: string;
  host: string;
  port: number;
  protocol: 'tcp' | 'udp';
}

export interface PortGroup {
  id: string;
  title: string;
  binds: Bind[];
  /** Binds that could not be listed, and why (no node address, a client_addr template). */
  unknown: string[];
  /** Extra text for the found line when everything is free. */
  note?: string;
}

export interface PortsInput {
  spec: NodeSpec;
  address: string | null;
  /** The consul binary's line ("1.22"), when known: servers bind grpc_tls from 1.14. */
  consulLine?: string;
}

/** The groups of ports this spec binds. */
export function portGroups({ spec, address, consulLine }: PortsInput): PortGroup[] {
  const groups: PortGroup[] = [];
  const noAddress = 'no node address (above)';

  // The status endpoint.
  const listen = parseListenAddress(spec.status.listen);
  groups.push({
    id: 'ports.status',
    title: 'status endpoint',
    binds: [
      {
        what: 'status endpoint',
        field: 'status.listen',
        host: listen.host,
        port: listen.port,
        protocol: 'tcp',
      },
    ],
    unknown: [],
  });

  // Consul's, on the hosts it will bind.
  const consul: PortGroup = { id: 'ports.consul', title: 'consul ports', binds: [], unknown: [] };
  for (const bind of consulBinds(spec, { address, consulLine })) {
    const { what, field, hosts, port } = bind;
    if (!hosts) consul.unknown.push(`${what} (${port}): ${bind.unknownWhy}`);
    else {
      for (const host of hosts) {
        for (const protocol of bind.protocols) {
          consul.binds.push({ what, field, host, port, protocol });
        }
      }
    }
  }
  groups.push(consul);

  // Envoy admin ports, as `run` assigns them.
  const envoys = envoyAdminPorts(spec);
  if (envoys.length > 0) {
    groups.push({
      id: 'ports.envoy-admin',
      title: 'Envoy admin ports',
      binds: envoys.map(({ name, port }, i) => ({
        what: `admin of ${name}`,
        field: `proxy.adminPortBase + ${i}`,
        host: '127.0.0.1',
        port,
        protocol: 'tcp' as const,
      })),
      unknown: [],
    });
  }

  // Sidecars: Consul hands each the lowest port of the range that none of the agent's own
  // services holds; a port another program holds is not skipped, so the first N must be free.
  const sidecars = spec.services.filter((s) => s.sidecar);
  const { sidecarMinPort: min, sidecarMaxPort: max } = spec.consul.ports;
  if (sidecars.length > 0 && min > 0) {
    groups.push({
      id: 'ports.sidecars',
      title: 'sidecar port range',
      binds: sidecars.map((s, i) => ({
        what: `public listener of the sidecar of ${s.id} (the range's ${ordinal(i + 1)} port)`,
        field: 'consul.ports.sidecarMinPort',
        host: '0.0.0.0',
        port: min + i,
        protocol: 'tcp' as const,
      })),
      unknown: [],
      note: `the range ${min}-${max} has room for ${max - min + 1}; Consul gives ${sidecars.length === 1 ? 'the sidecar its lowest port' : `the ${sidecars.length} sidecars its lowest ports`}, ${sidecars.length === 1 ? min : `${min}-${min + sidecars.length - 1}`}, skipping only ports its own services hold`,
    });
  }

  const upstreams = spec.services.flatMap((s, i) =>
    (s.sidecar?.upstreams ?? []).map((u, j) => ({
      what: `upstream ${u.service} of ${s.id}`,
      field: `services[${i}].sidecar.upstreams[${j}].localPort`,
      host: '127.0.0.1',
      port: u.localPort,
      protocol: 'tcp' as const,
    })),
  );
  if (upstreams.length > 0) {
    groups.push({
      id: 'ports.upstreams',
      title: 'upstream listeners',
      binds: upstreams,
      unknown: [],
    });
  }

  if (spec.gateways.length > 0) {
    const gateway: PortGroup = {
      id: 'ports.gateways',
      title: 'gateway ports',
      binds: [],
      unknown: [],
    };
    spec.gateways.forEach((g, i) => {
      if (address) {
        gateway.binds.push({
          what: `${g.name}'s registered address`,
          field: `gateways[${i}].port`,
          host: address,
          port: g.port,
          protocol: 'tcp',
        });
      } else gateway.unknown.push(`${g.name}'s registered address (${g.port}): ${noAddress}`);
      g.listeners.forEach((l, j) =>
        gateway.binds.push({
          what: `${g.name} listener ${j} (${l.protocol})`,
          field: `gateways[${i}].listeners[${j}].port`,
          host: '0.0.0.0',
          port: l.port,
          protocol: 'tcp',
        }),
      );
    });
    groups.push(gateway);
  }
  return groups;
}

function ordinal(n: number): string {
  const suffix =
    n % 10 === 1 && n % 100 !== 11
      ? 'st'
      : n % 10 === 2 && n % 100 !== 12
        ? 'nd'
        : n % 10 === 3 && n % 100 !== 13
          ? 'rd'
          : 'th';
  return `${n}${suffix}`;
}

function hostPort(bind: Bind): string {
  const host = bind.host.includes(':') ? `[${bind.host}]` : bind.host;
  return `${host}:${bind.port}/${bind.protocol}`;
}

/**
 * Tries every bind of a group. A port in use is a failure, unless this node is running (its
 * status endpoint answered): then its own programs are expected to hold them, and it is a warning.
 */
export async function checkPortGroup(
  group: PortGroup,
  nodeRunning: string | null,
): Promise<CheckResult> {
  const results = await Promise.all(
    group.binds.map(async (bind) => ({
      bind,
      result: await canBind(bind.host, bind.port, bind.protocol),
    })),
  );
  const details: Detail[] = [];
  const statuses = results.map(({ bind, result }) => {
    if (result.free) {
      details.push({ status: 'ok', text: `${hostPort(bind)}  ${bind.what} (${bind.field}): free` });
      return 'ok' as const;
    }
    const held = result.code === 'EADDRINUSE' && nodeRunning !== null;
    const status = held ? ('warn' as const) : ('fail' as const);
    const why = held ? `${result.reason}, presumably by this running node` : result.reason;
    details.push({ status, text: `${hostPort(bind)}  ${bind.what} (${bind.field}): ${why}` });
    return status;
  });
  for (const text of group.unknown) details.push({ status: 'warn', text: `not checked: ${text}` });
  const status = worst([...statuses, ...(group.unknown.length > 0 ? (['warn'] as const) : [])]);
  const busy = results.filter((r) => !r.result.free);
  if (status === 'ok') {
    return {
      status,
      found: `${plural(group.binds.length, 'port')} free${group.note ? `; ${group.note}` : ''}`,
      details,
    };
  }
  const found =
    busy.length > 0
      ? `${plural(busy.length, 'port')} of ${group.binds.length} cannot be bound: ${busy
          .map((r) => `${r.bind.port}/${r.bind.protocol} ${r.result.free ? '' : r.result.reason}`)
          .join('; ')}`
      : `${plural(group.binds.length, 'port')} free; ${plural(group.unknown.length, 'port')} not checked`;
  let fix: string | undefined;
  if (busy.some((r) => !r.result.free && r.result.code === 'EADDRINUSE')) {
    fix = nodeRunning
      ? `this node is running (its status endpoint answers at ${nodeRunning}): run doctor before it starts, or read \`meshvisor status\``
      : 'stop what holds them (`ss -ltnup` names it), or move the ports in the spec (the field is named on each line)';
  } else if (busy.some((r) => !r.result.free && r.result.code === 'EACCES')) {
    fix = 'use ports of 1024 or above, or run as root (docs/images.md: the ingress node)';
  } else if (busy.length > 0) {
    fix = 'the address is not on this machine: check address and consul.clientAddr';
  } else {
    fix = 'see the node address check above';
  }
  return { status, found, fix, details };
}
