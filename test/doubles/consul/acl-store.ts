// The servers' ACL state (1.10): policies and tokens, set up when a leader is elected (the
// built-in global-management policy, the master token from acl.tokens.master, the anonymous
// token), kept in data_dir like the config entries, and resolved for every ACL-checked call.
// Until the leader set ACLs up nothing resolves, not even the master token (recording 11 a, b).
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import type { Identity } from './acl.ts';
import { PolicyError, parsePolicy, serviceIdentityRules } from './acl.ts';

export const MANAGEMENT_POLICY_ID = '00000000-0000-0000-0000-000000000001';
export const ANONYMOUS_ACCESSOR = '00000000-0000-0000-0000-000000000002';
const RESERVED = '00000000-0000-0000-0000-0000000000';

export interface AclPolicy {
  ID: string;
  Name: string;
  Description: string;
  Rules: string;
  Datacenters?: string[];
  Hash: string;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface PolicyLink {
  ID: string;
  Name: string;
}

export interface AclToken {
  AccessorID: string;
  SecretID: string;
  Description: string;
  Policies?: PolicyLink[];
  ServiceIdentities?: { ServiceName: string; Datacenters?: string[] }[];
  Local: boolean;
  CreateTime: string;
  Hash: string;
  CreateIndex: number;
  ModifyIndex: number;
}

/** A rejected ACL write: the 1.10 text (the API answers 500 with it). */
export class AclWriteError extends Error {}

const hash = (v: unknown): string =>
  createHash('sha256').update(JSON.stringify(v)).digest('base64');

const isUuid = (s: string): boolean =>
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);

interface Persisted {
  policies: AclPolicy[];
  tokens: AclToken[];
  resetIndex: number;
}

export class AclStore {
  /** Set by the leader ("initializing acls"); nothing resolves before. */
  initialized = false;
  private policies = new Map<string, AclPolicy>();
  private tokens = new Map<string, AclToken>();
  /** The index of the master token's bootstrap (or of PUT /v1/acl/bootstrap): no more bootstraps. */
  private resetIndex = 0;

  constructor(
    /** data_dir/double-acl.json, or undefined (-dev). */
    private readonly file: string | undefined,
    /** The server's next raft-like index. */
    private readonly nextIndex: () => number,
  ) {
    if (!file) return;
    try {
      const p = JSON.parse(readFileSync(file, 'utf8')) as Persisted;
      for (const x of p.policies) this.policies.set(x.ID, x);
      for (const t of p.tokens) this.tokens.set(t.AccessorID, t);
      this.resetIndex = p.resetIndex;
    } catch {
      /* a fresh data dir */
    }
  }

  private persist(): void {
    if (!this.file) return;
    const p: Persisted = {
      policies: [...this.policies.values()],
      tokens: [...this.tokens.values()],
      resetIndex: this.resetIndex,
    };
    try {
      writeFileSync(this.file, JSON.stringify(p));
    } catch {
      /* best effort */
    }
  }

  /** The leader sets ACLs up; returns the log lines 1.10 prints (after "initializing acls"). */
  initialize(master: string | undefined): string[] {
    const lines: string[] = [];
    if (!this.policies.has(MANAGEMENT_POLICY_ID)) {
      this.putPolicy({
        ID: MANAGEMENT_POLICY_ID,
        Name: 'global-management',
        Description: 'Builtin Policy that grants unlimited access',
        Rules:
          'acl = "write"\noperator = "write"\nagent_prefix "" { policy = "write" }\nnode_prefix "" { policy = "write" }\nservice_prefix "" { policy = "write" intentions = "write" }\nkey_prefix "" { policy = "write" }\nsession_prefix "" { policy = "write" }\nevent_prefix "" { policy = "write" }\nquery_prefix "" { policy = "write" }\n',
      });
      lines.push("Created ACL 'global-management' policy");
    }
    if (master && !this.bySecret(master)) {
      const t = this.putToken({
        AccessorID: randomUUID(),
        SecretID: master,
        Description: 'Master Token',
        Policies: [{ ID: MANAGEMENT_POLICY_ID, Name: 'global-management' }],
      });
      this.resetIndex = t.CreateIndex;
      lines.push('Bootstrapped ACL master token from configuration');
    }
    if (!this.tokens.has(ANONYMOUS_ACCESSOR)) {
      this.putToken({
        AccessorID: ANONYMOUS_ACCESSOR,
        SecretID: 'anonymous',
        Description: 'Anonymous Token',
      });
      lines.push('Created ACL anonymous token from configuration');
    }
    this.initialized = true;
    this.persist();
    return lines;
  }

  private putPolicy(p: Omit<AclPolicy, 'Hash' | 'CreateIndex' | 'ModifyIndex'>): AclPolicy {
    const idx = this.nextIndex();
    const prev = this.policies.get(p.ID);
    const full: AclPolicy = {
      ...p,
      Hash: hash([p.Name, p.Rules, p.Description]),
      CreateIndex: prev?.CreateIndex ?? idx,
      ModifyIndex: idx,
    };
    this.policies.set(p.ID, full);
    return full;
  }

  private putToken(
    t: Pick<AclToken, 'AccessorID' | 'SecretID' | 'Description'> &
      Partial<Pick<AclToken, 'Policies' | 'ServiceIdentities'>>,
  ): AclToken {
    const idx = this.nextIndex();
    const full: AclToken = {
      AccessorID: t.AccessorID,
      SecretID: t.SecretID,
      Description: t.Description,
      ...(t.Policies?.length ? { Policies: t.Policies } : {}),
      ...(t.ServiceIdentities?.length ? { ServiceIdentities: t.ServiceIdentities } : {}),
      Local: false,
      CreateTime: new Date().toISOString(),
      Hash: hash([t.Description, t.Policies, t.ServiceIdentities]),
      CreateIndex: idx,
      ModifyIndex: idx,
    };
    this.tokens.set(full.AccessorID, full);
    this.persist();
    return full;
  }

  private bySecret(secret: string): AclToken | undefined {
    return [...this.tokens.values()].find((t) => t.SecretID === secret);
  }

  /** The token for a secret ('' = anonymous); undefined: `ACL not found`. */
  token(secret: string): AclToken | undefined {
    if (!this.initialized) return undefined;
    return secret === '' ? this.tokens.get(ANONYMOUS_ACCESSOR) : this.bySecret(secret);
  }

  /** What a secret may do; undefined: `ACL not found`. */
  resolve(secret: string): Identity | undefined {
    const t = this.token(secret);
    if (!t) return undefined;
    const policies = (t.Policies ?? [])
      .map((l) => this.policies.get(l.ID))
      .filter((p): p is AclPolicy => p !== undefined);
    return {
      accessorId: t.AccessorID,
      management: policies.some((p) => p.ID === MANAGEMENT_POLICY_ID),
      rules: [
        ...policies.map((p) => p.Rules),
        ...(t.ServiceIdentities ?? []).map((s) => serviceIdentityRules(s.ServiceName)),
      ],
    };
  }

  // --- the ACL API (acl-api.ts) -------------------------------------------------------------

  get bootstrapResetIndex(): number {
    return this.resetIndex;
  }

  /** PUT /v1/acl/bootstrap while still allowed: a new management token. */
  bootstrap(): AclToken {
    const t = this.putToken({
      AccessorID: randomUUID(),
      SecretID: randomUUID(),
      Description: 'Bootstrap Token (Global Management)',
      Policies: [{ ID: MANAGEMENT_POLICY_ID, Name: 'global-management' }],
    });
    this.resetIndex = t.CreateIndex;
    this.persist();
    return t;
  }

  createPolicy(b: {
    Name: string;
    Description: string;
    Rules: string;
    Datacenters?: string[];
  }): AclPolicy {
    if (!b.Name) throw new AclWriteError('Invalid Policy: no Name is set');
    if (!/^[A-Za-z0-9\-_]{1,128}$/.test(b.Name))
      throw new AclWriteError(
        "Invalid Policy: invalid Name. Only alphanumeric characters, '-' and '_' are allowed",
      );
    if ([...this.policies.values()].some((p) => p.Name === b.Name))
      throw new AclWriteError(`Invalid Policy: A Policy with Name "${b.Name}" already exists`);
    try {
      parsePolicy(b.Rules);
    } catch (err) {
      if (err instanceof PolicyError) throw new AclWriteError(`Invalid Policy: ${err.message}`);
      throw err;
    }
    const p = this.putPolicy({
      ID: randomUUID(),
      Name: b.Name,
      Description: b.Description,
      Rules: b.Rules,
      ...(b.Datacenters?.length ? { Datacenters: b.Datacenters } : {}),
    });
    this.persist();
    return p;
  }

  policy(idOrName: string, by: 'id' | 'name' = 'id'): AclPolicy | undefined {
    return by === 'id'
      ? this.policies.get(idOrName)
      : [...this.policies.values()].find((p) => p.Name === idOrName);
  }

  listPolicies(): AclPolicy[] {
    return [...this.policies.values()].sort((a, b) => (a.ID < b.ID ? -1 : 1));
  }

  deletePolicy(id: string): void {
    if (id === MANAGEMENT_POLICY_ID)
      throw new AclWriteError(
        'Delete operation not permitted on the builtin global-management policy',
      );
    if (this.policies.delete(id)) {
      this.nextIndex();
      this.persist();
    }
  }

  /**
   * PUT /v1/acl/token. A caller may choose the SecretID and AccessorID (1.10 accepts them), so
   * tests can create tokens whose secrets they know.
   */
  createToken(b: {
    AccessorID?: string;
    SecretID?: string;
    Description?: string;
    Policies?: { ID?: string; Name?: string }[];
    ServiceIdentities?: { ServiceName?: string; Datacenters?: string[] }[];
  }): AclToken {
    for (const [field, v] of [
      ['AccessorID', b.AccessorID],
      ['SecretID', b.SecretID],
    ] as const) {
      if (!v) continue;
      if (!isUuid(v)) throw new AclWriteError(`Invalid Token: ${field} is not a valid UUID`);
      if (v.startsWith(RESERVED))
        throw new AclWriteError(`Invalid Token: UUIDs with the prefix "${RESERVED}" are reserved`);
      const taken = field === 'AccessorID' ? this.tokens.has(v) : this.bySecret(v) !== undefined;
      if (taken) throw new AclWriteError(`Invalid Token: ${field} is already in use`);
    }
    const policies: PolicyLink[] = (b.Policies ?? []).map((l) => {
      const p = l.ID ? this.policies.get(l.ID) : this.policy(l.Name ?? '', 'name');
      if (!p)
        throw new AclWriteError(
          l.ID
            ? `No such ACL policy with ID "${l.ID}"`
            : `No such ACL policy with name "${l.Name ?? ''}"`,
        );
      return { ID: p.ID, Name: p.Name };
    });
    const identities = (b.ServiceIdentities ?? []).map((s) => {
      if (!s.ServiceName)
        throw new AclWriteError('Service identity is missing the service name field on this token');
      return {
        ServiceName: s.ServiceName,
        ...(s.Datacenters?.length ? { Datacenters: s.Datacenters } : {}),
      };
    });
    return this.putToken({
      AccessorID: b.AccessorID || randomUUID(),
      SecretID: b.SecretID || randomUUID(),
      Description: b.Description ?? '',
      Policies: policies,
      ServiceIdentities: identities,
    });
  }

  tokenByAccessor(id: string): AclToken | undefined {
    return this.tokens.get(id);
  }

  listTokens(): AclToken[] {
    return [...this.tokens.values()].sort((a, b) => (a.AccessorID < b.AccessorID ? -1 : 1));
  }

  deleteToken(id: string): void {
    if (id === ANONYMOUS_ACCESSOR)
      throw new AclWriteError('Delete operation not permitted on the anonymous token');
    if (this.tokens.delete(id)) {
      this.nextIndex();
      this.persist();
    }
  }
}
