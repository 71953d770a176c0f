// Which proxy a connect command runs for (S: command/connect/proxy/proxy.go at v1.10.12),
// shared by `connect envoy` and `connect proxy`. One request each, no retries.
import type { ConsulApi, AgentService } from '../api-client.ts';
import { ApiError } from '../api-client.ts';

/** An error the command prints on stderr as is, then exits 1. */
export class CommandError extends Error {}

export const GATEWAY_KINDS: Record<string, string> = {
  mesh: 'mesh-gateway',
  terminating: 'terminating-gateway',
  ingress: 'ingress-gateway',
};

export const PROXY_KINDS = new Set(['connect-proxy', ...Object.values(GATEWAY_KINDS)]);

/**
 * The ID of the connect-proxy whose DestinationServiceID is `sidecarFor`. Like 1.10 it lower-cases
 * only the stored ID, so a mixed-case `sidecarFor` never matches.
 */
export async function lookupProxyIdForSidecar(api: ConsulApi, sidecarFor: string): Promise<string> {
  let services: Record<string, AgentService>;
  try {
    services = (await api.get<Record<string, AgentService>>('/v1/agent/services')) ?? {};
  } catch (e) {
    throw new CommandError(
      `Failed looking up sidecar proxy info for ${sidecarFor}: ${(e as Error).message}`,
    );
  }
  const ids = Object.values(services)
    .filter(
      (s) =>
        s.Kind === 'connect-proxy' &&
        s.Proxy !== undefined &&
        (s.Proxy.DestinationServiceID ?? '').toLowerCase() === sidecarFor,
    )
    .map((s) => s.ID);
  if (ids.length === 0) throw new CommandError(`No sidecar proxy registered for ${sidecarFor}`);
  if (ids.length > 1) {
    throw new CommandError(
      `More than one sidecar proxy registered for ${sidecarFor}.\n` +
        `    Start proxy with -proxy-id and one of the following IDs: ${ids.join(', ')}`,
    );
  }
  return ids[0] as string;
}

/** The ID of the one gateway of `kind` registered with this agent. */
export async function lookupGatewayProxyId(api: ConsulApi, kind: string): Promise<string> {
  let services: Record<string, AgentService>;
  try {
    const filter = encodeURIComponent(`Kind == \`${kind}\``);
    services =
      (await api.get<Record<string, AgentService>>(`/v1/agent/services?filter=${filter}`)) ?? {};
  } catch (e) {
    throw new CommandError(`Failed looking up ${kind} instances: ${(e as Error).message}`);
  }
  const ids = Object.values(services)
    .filter((s) => s.Kind === kind)
    .map((s) => s.ID);
  if (ids.length === 0) throw new CommandError(`No ${kind} services registered with this agent`);
  if (ids.length > 1) {
    throw new CommandError(
      `Cannot lookup the ${kind}'s proxy ID because multiple are registered with the agent`,
    );
  }
  return ids[0] as string;
}

/** `GET /v1/agent/service/<proxyID>`, which must be a proxy or a gateway. */
export async function fetchProxyService(api: ConsulApi, proxyId: string): Promise<AgentService> {
  let svc: AgentService;
  try {
    svc = await api.get<AgentService>(`/v1/agent/service/${encodeURIComponent(proxyId)}`);
  } catch (e) {
    const msg = e instanceof ApiError ? e.message : String(e);
    throw new CommandError(`failed fetch proxy config from local agent: ${msg}`);
  }
  if (!PROXY_KINDS.has(svc.Kind ?? '')) {
    throw new CommandError('service is not a Connect proxy or gateway');
  }
  return svc;
}
