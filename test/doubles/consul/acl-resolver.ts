// How an agent finds what a caller may do (1.10's ACL resolver, recording 11): the servers
// resolve every token (a server from its own store, a client by asking its server), a call
// without a token carries the agent's default token (acl.tokens.default), and:
// - a client that cannot reach a server applies its down policy (extend-cache: the default
//   policy; deny → `Permission denied`, lists filtered);
// - a client starts in legacy ACL mode until its ACL mode check finds a server (50 ms, doubling
//   to 30 s): meanwhile the servers are asked the legacy way, which knows no anonymous token
//   (`ACL not found` without a token) and names no accessors;
// - acl.tokens.agent_master is resolved by the agent itself, servers or not.
import type { Identity } from './acl.ts';
import { ACL_NOT_FOUND, Authorizer, agentMasterRules, authorizerFor, parsePolicy } from './acl.ts';
import type { AclStore } from './acl-store.ts';
import type { JsonObject } from './config.ts';
import type { Reply } from './http.ts';
import { text } from './http.ts';

export interface AclSettings {
  enabled: boolean;
  defaultPolicy: string;
  downPolicy: string;
  tokens: { master: string; agentMaster: string; agent: string; default: string };
}

export function aclSettings(raw: JsonObject): AclSettings {
  const acl = (raw.acl ?? {}) as JsonObject;
  const tokens = (acl.tokens ?? {}) as JsonObject;
  const s = (v: unknown): string => (typeof v === 'string' ? v : '');
  return {
    enabled: acl.enabled === true || acl.enabled === 'true',
    defaultPolicy: s(acl.default_policy) || 'allow',
    downPolicy: s(acl.down_policy) || 'extend-cache',
    tokens: {
      master: s(tokens.master),
      agentMaster: s(tokens.agent_master),
      agent: s(tokens.agent),
      default: s(tokens.default),
    },
  };
}

/** What a secret resolved to: an authorizer and the token's accessor (for log lines), or why not. */
export type Resolution = { authz: Authorizer; accessorId: string } | { error: string };

/** A client asking its server: the identity, 'not found', or undefined when no server answers. */
export type AskServer = (secret: string) => Promise<Identity | 'not found' | undefined>;

export class AclResolver {
  /** Clients only: still in 1.10's legacy ACL mode (no ACL-enabled server seen yet). */
  legacy: boolean;

  constructor(
    readonly settings: AclSettings,
    private readonly node: string,
    private readonly source: { store: AclStore } | { ask: AskServer },
  ) {
    this.legacy = settings.enabled && 'ask' in source;
  }

  get enabled(): boolean {
    return this.settings.enabled;
  }

  /** The token a call carries: its own, else the agent's default token. */
  callerToken(token: string): string {
    return this.enabled && !token ? this.settings.tokens.default : token;
  }

  /** The token the agent registers its node with: acl.tokens.agent, else the default token. */
  get agentToken(): string {
    return this.settings.tokens.agent || this.settings.tokens.default;
  }

  /** Down policy extend-cache/async-cache falls back to the default policy (nothing cached). */
  private down(): Authorizer {
    const p = this.settings.downPolicy;
    const allow = p === 'allow' || (p !== 'deny' && this.settings.defaultPolicy === 'allow');
    return allow ? Authorizer.allowAll : Authorizer.denyAll;
  }

  async resolve(secret: string): Promise<Resolution> {
    if (!this.enabled) return { authz: Authorizer.allowAll, accessorId: '' };
    if (secret && secret === this.settings.tokens.agentMaster)
      return {
        authz: Authorizer.of(
          [parsePolicy(agentMasterRules(this.node))],
          this.settings.defaultPolicy,
        ),
        accessorId: '',
      };
    if ('store' in this.source)
      return storeResolution(this.source.store, secret, this.settings.defaultPolicy);
    let id = await this.source.ask(secret);
    if (id === undefined) return { authz: this.down(), accessorId: '' };
    // Legacy mode asks the servers the old way (ACL.GetPolicy): it knows no anonymous token.
    if (this.legacy && secret === '') id = 'not found';
    if (id === 'not found') return { error: ACL_NOT_FOUND };
    return {
      authz: authorizerFor(id, this.settings.defaultPolicy),
      accessorId: this.legacy ? '' : id.accessorId,
    };
  }

  /** The caller's authorizer, or the 403 (`ACL not found`). */
  async authorizer(secret: string): Promise<Authorizer | Reply> {
    const r = await this.resolve(secret);
    return 'error' in r ? text(403, r.error) : r.authz;
  }
}

/** A server resolving a token from its store (never the agent master token: that is local). */
export function storeResolution(
  store: AclStore | undefined,
  secret: string,
  defaultPolicy: string,
): Resolution {
  if (!store) return { authz: Authorizer.allowAll, accessorId: '' };
  const id = store.resolve(secret);
  return id
    ? { authz: authorizerFor(id, defaultPolicy), accessorId: id.accessorId }
    : { error: ACL_NOT_FOUND };
}

/** A server resolving a forwarded call's token: its authorizer, or the 403. */
export function storeAuthorizer(
  store: AclStore | undefined,
  secret: string,
  defaultPolicy: string,
): Authorizer | Reply {
  const r = storeResolution(store, secret, defaultPolicy);
  return 'error' in r ? text(403, r.error) : r.authz;
}
