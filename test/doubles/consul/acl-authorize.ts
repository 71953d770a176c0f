// POST /v1/internal/acl/authorize as 1.10.12 answers it (recording 15,
// test/recordings/consul-1.10.12/15-acl-authorize): the agent's handler checks that ACLs are on
// (401 `ACL support disabled`, not logged), decodes the body into a list of
// {Resource, Segment, Access} (Go's decoder: case-insensitive field names, unknown fields
// refused), refuses more than 64, answers `[]` to an empty list without resolving the token, then
// resolves it (403 `ACL not found`) and runs the token's authorizer on each request in order, the
// first unknown resource or access level a 400. The answer echoes each request with `Allow`;
// `Segment` is left out when empty.
import type { Access, Authorizer, Resource } from './acl.ts';
import { goJsonSyntaxError } from './gojson.ts';
import type { Reply } from './http.ts';
import { json, text } from './http.ts';

const MAX_REQUESTS = 64;
const LIST_TYPE = '[]structs.ACLAuthorizationRequest';
const FIELDS = ['Resource', 'Segment', 'Access'] as const;

/** The access levels 1.10 knows per resource (`list` only for keys). */
const LEVELS: Record<Resource, string[]> = {
  acl: ['read', 'write'],
  agent: ['read', 'write'],
  event: ['read', 'write'],
  intention: ['read', 'write'],
  key: ['read', 'write', 'list'],
  keyring: ['read', 'write'],
  node: ['read', 'write'],
  operator: ['read', 'write'],
  query: ['read', 'write'],
  service: ['read', 'write'],
  session: ['read', 'write'],
};

interface AuthzRequest {
  Resource: string;
  Segment: string;
  Access: string;
}

const bad = (reason: string): Reply => text(400, `Bad request: ${reason}`);
const undecodable = (reason: string): Reply => bad(`Failed to decode request body: ${reason}`);

/** encoding/json's name for a JSON value's kind in `cannot unmarshal <kind> into …`. */
const kindOf = (v: unknown): string =>
  typeof v === 'boolean' ? 'bool' : Array.isArray(v) ? 'array' : typeof v;

/** The body as Go decodes it into []ACLAuthorizationRequest (null: none), or the 400. */
function decode(body: string): AuthzRequest[] | Reply {
  if (body.trim() === '') return undecodable('EOF');
  const syntax = goJsonSyntaxError(body, 'decoder');
  if (syntax) return undecodable(syntax);
  const value = JSON.parse(body) as unknown;
  if (value === null) return [];
  if (!Array.isArray(value))
    return undecodable(
      `json: cannot unmarshal ${kindOf(value)} into Go value of type ${LIST_TYPE}`,
    );
  const out: AuthzRequest[] = [];
  for (const element of value as unknown[]) {
    const r: AuthzRequest = { Resource: '', Segment: '', Access: '' };
    if (element !== null && (typeof element !== 'object' || Array.isArray(element)))
      return undecodable(
        `json: cannot unmarshal ${kindOf(element)} into Go value of type structs.ACLAuthorizationRequest`,
      );
    for (const [key, v] of Object.entries((element ?? {}) as Record<string, unknown>)) {
      const field = FIELDS.find((f) => f.toLowerCase() === key.toLowerCase());
      if (!field) return undecodable(`json: unknown field "${key}"`);
      if (v === null) continue;
      if (typeof v !== 'string')
        return undecodable(
          `json: cannot unmarshal ${kindOf(v)} into Go struct field ACLAuthorizationRequest.${field} of type ${field === 'Resource' ? 'acl.Resource' : 'string'}`,
        );
      r[field] = v;
    }
    out.push(r);
  }
  return out;
}

const isReply = (d: AuthzRequest[] | Reply): d is Reply => !Array.isArray(d);

/**
 * What the handler answers before it resolves the caller's token: the refusals (ACLs off, a body
 * it cannot decode, too many requests) and `[]` for an empty list; undefined: resolve, then
 * `authorizeAnswer`.
 */
export function authorizeEarly(aclEnabled: boolean, body: string): Reply | undefined {
  // 1.10 writes this answer itself: no Request error line.
  if (!aclEnabled) return { ...text(401, 'ACL support disabled'), quiet: true };
  const requests = decode(body);
  if (isReply(requests)) return requests;
  if (requests.length > MAX_REQUESTS)
    return bad(`Refusing to process more than ${MAX_REQUESTS} authorizations at once`);
  if (requests.length === 0) return json([]);
  return undefined;
}

/** Each request answered by the caller's authorizer, or the 400 for the first one 1.10 refuses. */
export function authorizeAnswer(authz: Authorizer, body: string): Reply {
  const requests = decode(body);
  if (isReply(requests)) return requests;
  const answers = [];
  for (const r of requests) {
    const levels = Object.hasOwn(LEVELS, r.Resource) ? LEVELS[r.Resource as Resource] : undefined;
    if (!levels) return bad(`Invalid ACL resource requested: "${r.Resource}"`);
    if (!levels.includes(r.Access))
      return bad(`Invalid access level for ${r.Resource} resource: ${r.Access}`);
    // A key `list` is granted by what grants a read (the double's policies know no `list`).
    const access: Access = r.Access === 'write' ? 'write' : 'read';
    answers.push({
      Resource: r.Resource,
      ...(r.Segment ? { Segment: r.Segment } : {}),
      Access: r.Access,
      Allow: authz.allows(r.Resource as Resource, access, r.Segment),
    });
  }
  return json(answers);
}
