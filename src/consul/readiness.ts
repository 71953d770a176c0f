// The readiness stages of a Consul agent, in order. Each is a condition read over the HTTP
// API, polled instead of slept on (the original setup slept 30 s and hoped).
import type { ConsulClient } from './client.ts';
import { NotYet } from './poll.ts';

export interface ReadinessTarget {
  nodeName: string;
  /** Service IDs the agent must hold, sidecar proxies included (`<id>-sidecar-proxy`). */
  serviceIds: string[];
}

export interface ReadinessStage {
  name: 'http-up' | 'leader-known' | 'services-registered' | 'node-synced';
  /** What a person should look at when the stage never completes. */
  hint: string;
  check: (client: ConsulClient, target: ReadinessTarget) => Promise<void>;
}

export const READINESS_STAGES: readonly ReadinessStage[] = [
  {
    name: 'http-up',
    hint: "the consul program's log (it may have exited) and consul.ports.http / the node address",
    check: async (client) => {
      await client.self();
    },
  },
  {
    name: 'leader-known',
    // A client answers 500 "No known Consul servers" until retry_join reaches a server; a
    // server answers "" until it has elected a leader (recordings 01, 02).
    hint: 'that consul.retryJoin reaches a server (gossip port 8301) and the servers have a quorum (bootstrapExpect)',
    check: async (client) => {
      const leader = await client.leader();
      if (leader === '') throw new NotYet('no cluster leader elected yet');
    },
  },
  {
    name: 'services-registered',
    hint: 'the agent log for service definition errors in the rendered config',
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
    hint:
      "the agent log for 'failed to sync remote state' or 'Service registration blocked by ACLs' " +
      '(the ACL token the services register with), the gossip key and TLS',
    check: async (client, target) => {
      const node = await client.catalogNode(target.nodeName);
      if (!node) throw new NotYet(`node ${target.nodeName} is not in the catalog yet`);
      const missing = target.serviceIds.filter((id) => !node.serviceIds.includes(id));
      if (missing.length > 0) {
        throw new NotYet(
          `the catalog does not hold ${missing.join(', ')} yet (first sync pending)`,
        );
      }
    },
  },
];
