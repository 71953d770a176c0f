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
  name: 'http-up' | 'leader-known' | 'node-synced' | 'services-registered';
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
    name: 'node-synced',
    // "Synced node info": the first anti-entropy sync, the best sign that this node has
    // joined and the cluster has a leader (contract §2).
    hint: "the agent log for 'failed to sync remote state' (ACL token, gossip encryption key, TLS)",
    check: async (client, target) => {
      if (!(await client.nodeInCatalog(target.nodeName))) {
        throw new NotYet(`node ${target.nodeName} is not in the catalog yet`);
      }
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
];
