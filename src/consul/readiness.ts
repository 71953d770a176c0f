// The readiness stages of a Consul agent, in order. Each is a condition read over the HTTP
// API, polled instead of slept on (the original setup slept 30 s and hoped).
import { ConsulError, type ConsulApi } from './client.ts';
import { NotYet } from './poll.ts';
import { TOKEN_SOURCES } from './rights.ts';

export interface ReadinessTarget {
  nodeName: string;
  /** Service IDs the agent must hold, sidecar proxies included (`<id>-sidecar-proxy`). */
  serviceIds: string[];
  /** auto_encrypt on a client: its HTTP API opens only once a server signed its certificate. */
  autoEncrypt: boolean;
  /**
   * Service IDs the agent logged as refused by the servers' ACLs ("Service registration blocked
   * by ACLs", with the accessor that was refused), kept up to date while the stages run.
   */
  aclRefusals: ReadonlyMap<string, string>;
}

/** What one bring-up remembers between polls: since when a condition has held. */
export class StageMemory {
  private readonly firstSeen = new Map<string, number>();

  constructor(private readonly clock: () => number = Date.now) {}

  /** Milliseconds since `condition` was first reported in this bring-up (0 the first time). */
  heldFor(condition: string): number {
    const now = this.clock();
    const first = this.firstSeen.get(condition) ?? now;
    this.firstSeen.set(condition, first);
    return now - first;
  }
}

export interface ReadinessStage {
  name: 'http-up' | 'leader-known' | 'services-registered' | 'node-synced';
  /** What a person should look at when the stage never completes. */
  hint: (target: ReadinessTarget) => string;
  check: (client: ConsulApi, target: ReadinessTarget, memory: StageMemory) => Promise<void>;
  /**
   * The poll's backoff ceiling when the check asks only the local agent: no server load to
   * spread, and a 1 s ceiling would see an agent that answers after ~0.1 s hundreds of ms late.
   */
  maxPollDelayMs?: number;
  /**
   * What the agent logs (hclog message) once the condition may hold: the poll checks again at
   * once instead of after its backoff (LogWake). Each line follows the state change it reports.
   */
  wakeOn: readonly string[];
}

/** Backoff ceiling of the stages only the local agent answers. */
const LOCAL_POLL_CEILING_MS = 50;

/**
 * How long a 403 may last once the agent knows a leader before it counts as a real denial: a
 * client that just joined resolves its token within ~50 ms (recording 11, fact 6).
 */
const TOKEN_RESOLUTION_GRACE_MS = 3000;

const API_TOKEN = TOKEN_SOURCES.meshvisor;
const SERVICE_TOKEN = TOKEN_SOURCES.service;

export const READINESS_STAGES: readonly ReadinessStage[] = [
  {
    name: 'http-up',
    maxPollDelayMs: LOCAL_POLL_CEILING_MS,
    // Logged once the HTTP listener is bound (recording 01, `protocol=http`).
    wakeOn: ['Starting server'],
    hint: (target) =>
      target.autoEncrypt
        ? "auto-encrypt: the agent opens its HTTP API only after a server with a leader signed its certificate, so check consul.retryJoin (gossip 8301, server RPC 8300), consul.tls.caFile and the consul program's log"
        : "the consul program's log (it may have exited) and consul.ports.http / the node address",
    check: async (client, target, memory) => {
      try {
        await client.self();
      } catch (err) {
        if (err instanceof ConsulError && err.status === 403) {
          await aclNotYet(client, err, memory);
          throw new ConsulError(
            `GET /v1/agent/self: ${err.message}: ${API_TOKEN} needs agent "${target.nodeName}" read (docs/acl.md)`,
            403,
            false,
          );
        }
        if (target.autoEncrypt && err instanceof ConsulError && err.status === null) {
          throw new ConsulError(
            `${err.message} (auto-encrypt: waiting for a server to sign the agent's certificate)`,
            null,
            true,
          );
        }
        throw err;
      }
    },
  },
  {
    name: 'leader-known',
    // A client answers 500 "No known Consul servers" until retry_join reaches a server; a
    // server answers "" until it has elected a leader (recordings 01, 02). A server logs the
    // election; a client, each server it found (01, 02, 07). The backoff keeps its 1 s ceiling: a
    // long wait for servers asks them, and the lines end it early.
    wakeOn: ['New leader elected', 'adding server'],
    hint: () =>
      'that consul.retryJoin reaches a server (gossip port 8301) and the servers have a quorum (bootstrapExpect)',
    check: async (client) => {
      const leader = await client.leader();
      if (leader === '') throw new NotYet('no cluster leader elected yet');
    },
  },
  {
    name: 'services-registered',
    maxPollDelayMs: LOCAL_POLL_CEILING_MS,
    // The agent loads the services of its config files before its HTTP API opens.
    wakeOn: [],
    hint: () =>
      `the agent log for service definition errors in the rendered config; with ACLs, ${API_TOKEN} needs service:read on them (the list is filtered, not denied)`,
    check: async (client, target) => {
      const services = await client.services();
      const missing = target.serviceIds.filter((id) => !(id in services));
      if (missing.length > 0)
        throw new NotYet(`services not registered yet: ${missing.join(', ')}`);
    },
  },
  {
    name: 'node-synced',
    // The leader puts a joining node into the catalog before the agent's own first anti-entropy
    // sync, and a node that left answers `null` for a moment after its rejoin (recording 10): only
    // the node *with every service* in the catalog means the first sync is done and peers see us.
    // Each anti-entropy step is logged once the servers accepted it (recordings 02, 08, and
    // test/recordings' 13-start-join).
    wakeOn: ['Synced node info', 'Synced service'],
    hint: () =>
      `the agent log for 'failed to sync remote state' or 'blocked by ACLs' (${SERVICE_TOKEN} needs service:write; the agent token, node:write), the gossip key and TLS`,
    check: async (client, target) => {
      const node = await client.catalogNode(target.nodeName);
      const missing = target.serviceIds.filter((id) => !node?.serviceIds.includes(id));
      // The agent keeps retrying a refused registration, but a token that was resolved and
      // refused will not change its mind: say so now rather than at the deadline.
      const refused = missing.filter((id) => target.aclRefusals.has(id));
      if (refused.length > 0) {
        const who = [...new Set(refused.map((id) => target.aclRefusals.get(id)))].join(', ');
        throw new ConsulError(
          `Consul refused to register ${refused.join(', ')}: Service registration blocked by ACLs (accessor ${who}); ${SERVICE_TOKEN} needs service:write on the service and its sidecar (docs/acl.md)`,
          403,
          false,
        );
      }
      if (!node) throw new NotYet(`node ${target.nodeName} is not in the catalog yet`);
      if (missing.length > 0) {
        throw new NotYet(
          `the catalog does not hold ${missing.join(', ')} yet (first sync pending)`,
        );
      }
    },
  },
];

/**
 * The ACL bootstrap window (recording 11): a server answers `403 ACL not found` to every
 * ACL-checked call until it has a leader, even for the management token, and a client answers
 * `403 Permission denied` until it has joined a server that can resolve its token. Returns when
 * the 403 has outlasted that window (a real denial); throws NotYet while it may still heal.
 */
async function aclNotYet(
  client: ConsulApi,
  denied: ConsulError,
  memory: StageMemory,
): Promise<void> {
  const leader = await client.leader().catch(() => '');
  if (leader === '') {
    throw new NotYet(
      `${denied.message}: ACL tokens resolve only once the servers have a leader and this agent has joined them`,
    );
  }
  if (memory.heldFor('403 with a leader') < TOKEN_RESOLUTION_GRACE_MS) {
    throw new NotYet(`${denied.message}: the servers are resolving the token`);
  }
}
