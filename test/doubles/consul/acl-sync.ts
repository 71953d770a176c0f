// Anti-entropy under ACLs (1.10, recording 11 d): the servers vet each part of an agent's sync
// with the token it comes with — the node with the agent token (node:write), each service with
// its own token (service:write on its name), each check with its token (service:write on its
// service, node:write for a node check). What a token may not write stays out of the catalog;
// the agent logs it as "blocked by ACLs".
import type { Resolution } from './acl-resolver.ts';
import type { Logger } from './log.ts';

export interface SyncItems {
  node: string;
  nodeToken: string;
  /** `token` undefined: registered by the leader itself (a server's `consul` service). */
  services: { id: string; name: string; token?: string }[];
  checks: { id: string; service?: string; token: string }[];
}

/** What was blocked, with the accessor of the token that could not write it ('' unknown). */
export interface SyncVerdict {
  node?: string;
  services: Record<string, string>;
  checks: Record<string, string>;
}

export function vetSync(resolve: (secret: string) => Resolution, items: SyncItems): SyncVerdict {
  /** The accessor of a token lacking the permission, undefined when it may write. */
  const blocked = (token: string, res: 'node' | 'service', name: string): string | undefined => {
    const r = resolve(token);
    if ('error' in r) return '';
    return r.authz.allows(res, 'write', name) ? undefined : r.accessorId;
  };
  const verdict: SyncVerdict = { services: {}, checks: {} };
  const node = blocked(items.nodeToken, 'node', items.node);
  if (node !== undefined) verdict.node = node;
  for (const s of items.services) {
    const b = s.token === undefined ? undefined : blocked(s.token, 'service', s.name);
    if (b !== undefined) verdict.services[s.id] = b;
  }
  for (const c of items.checks) {
    const b = c.service
      ? blocked(c.token, 'service', c.service)
      : blocked(c.token, 'node', items.node);
    if (b !== undefined) verdict.checks[c.id] = b;
  }
  return verdict;
}

/** What the report needs to know of its agent. */
export interface ReportContext {
  nodeId: string;
  /** In legacy ACL mode a client cannot name accessors: it logs `accessorID=`. */
  legacy(): boolean;
  /** A client's server (`<ip>:8300`) for the failed-RPC line; undefined on a server. */
  rpcServer(): string | undefined;
  serviceOfCheck(checkId: string): string;
  tokenOfService(serviceId: string): string;
}

/**
 * The agent's log of what ACLs kept out of the catalog, worded as 1.10 logs it (a client also
 * logs the failed RPC): each blocked part once per anti-entropy round (reset() starts the next
 * one). A check blocked together with its service is not logged; one 1.10 syncs on its own
 * (after a status change, or its proxy re-added once its central config arrived) is.
 */
export class BlockedReport {
  private readonly logged = new Set<string>();
  private readonly alone = new Set<string>();

  constructor(
    private readonly log: Logger,
    private readonly ctx: ReportContext,
  ) {}

  /** The check syncs on its own next time. */
  markAlone(checkId: string): void {
    this.alone.add(checkId);
  }

  /** The check reached the catalog. */
  synced(checkId: string): void {
    this.alone.delete(checkId);
  }

  /** The next anti-entropy round logs again what is still blocked. */
  reset(): void {
    this.logged.clear();
  }

  /** Logs the verdict's blocked parts; true when something was blocked. */
  report(v: SyncVerdict): boolean {
    const accessorID = (a: string): string => (this.ctx.legacy() ? '' : a);
    const once = (key: string): boolean => !this.logged.has(key) && !!this.logged.add(key);
    const warn = (msg: string, fields: Record<string, string>): void => {
      const server = this.ctx.rpcServer();
      if (server)
        this.log.error('agent.client', 'RPC failed to server', {
          method: 'Catalog.Register',
          server,
          error: 'rpc error making call: Permission denied',
        });
      this.log.warn('agent', msg, fields);
    };
    if (v.node !== undefined && once('node'))
      warn('Node info update blocked by ACLs', {
        node: this.ctx.nodeId,
        accessorID: accessorID(v.node),
      });
    for (const [id, a] of Object.entries(v.services))
      if (once(`svc:${id}:${this.ctx.tokenOfService(id)}`))
        warn('Service registration blocked by ACLs', { service: id, accessorID: accessorID(a) });
    for (const [id, a] of Object.entries(v.checks)) {
      const marked = this.alone.delete(id);
      if (!marked && (this.ctx.serviceOfCheck(id) in v.services || !once(`chk:${id}`))) continue;
      warn('Check registration blocked by ACLs', { check: id, accessorID: accessorID(a) });
    }
    return (
      v.node !== undefined || Object.keys(v.services).length + Object.keys(v.checks).length > 0
    );
  }
}
