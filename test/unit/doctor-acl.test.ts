// The ACL checks of `meshvisor doctor`: which rights each token needs (docs/acl.md), and how each
// is verified against a stub agent that answers token/self and, or not, Consul's authorize
// endpoint (an agent without it: a Consul before 1.7). test/integration/doctor.test.ts runs
// doctor against the consul double's (and the real 1.10.12's) authorize endpoint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkAclAgreement, checkAclOff, checkToken } from '../../src/doctor/acl.ts';
import { ruleText, tokenNeeds, type TokenNeed } from '../../src/consul/rights.ts';
import type { AgentProbe } from '../../src/doctor/consul-api.ts';
import { parseSpec } from '../../src/spec/index.ts';

const MANAGEMENT = 'secret-management';
const LIMITED = 'secret-limited';
const PLAIN = 'secret-plain';
const READER = 'secret-reader';

const spec = parseSpec({
  datacenter: 'dc1',
  role: 'client',
  nodeName: 'c1',
  consul: {
    retryJoin: ['10.0.0.2'],
    acl: { tokens: { agent: MANAGEMENT, meshvisor: LIMITED } },
  },
  services: [
    {
      name: 'users',
      id: 'users-1',
      port: 8080,
      protocol: 'http',
      token: PLAIN,
      sidecar: { upstreams: [{ service: 'todos', localPort: 1234 }] },
    },
  ],
  gateways: [
    {
      kind: 'ingress',
      name: 'ingress',
      port: 8888,
      token: LIMITED,
      listeners: [{ port: 8081, protocol: 'http', services: ['users'] }],
    },
  ],
  configEntries: [
    { Kind: 'service-intentions', Name: 'todos', Sources: [{ Name: 'users', Action: 'allow' }] },
  ],
});

function need(id: string): TokenNeed {
  const found = tokenNeeds(spec).find((n) => n.id === id);
  assert.ok(found, id);
  return found;
}

test('the rights each token needs, from docs/acl.md and config/acl/*.hcl', () => {
  assert.deepEqual(
    tokenNeeds(spec).map((n) => n.id),
    ['acl.agent', 'acl.meshvisor', 'acl.service:users-1', 'acl.gateway:ingress'],
  );
  assert.deepEqual(need('acl.agent').rights.map(ruleText), ['node "c1" { policy = "write" }']);
  const meshvisor = need('acl.meshvisor');
  assert.deepEqual(meshvisor.rights.map(ruleText), [
    'agent "c1" { policy = "write" }',
    'node "c1" { policy = "read" }',
    'service "users" { policy = "write" }',
    'service "users-sidecar-proxy" { policy = "read" }',
    'service "ingress" { policy = "write" }',
    'operator = "write"',
    'service "todos" { intentions = "write" }',
  ]);
  // One right, every reason for it.
  assert.deepEqual(meshvisor.rights[2]?.why, [
    'maintenance and deregistration of users-1 (stop)',
    'PUT /v1/config service-defaults users',
  ]);
  assert.equal(meshvisor.policy, 'config/acl/meshvisor-server.hcl');
  assert.deepEqual(need('acl.service:users-1').rights.map(ruleText), [
    'service "users" { policy = "write" }',
    'service "users-sidecar-proxy" { policy = "write" }',
    'service "todos" { policy = "read" }',
    'node "c1" { policy = "read" }',
  ]);
  assert.deepEqual(need('acl.gateway:ingress').rights.map(ruleText), [
    'service "ingress" { policy = "write" }',
    'service "users" { policy = "read" }',
    'node "c1" { policy = "read" }',
  ]);
  assert.deepEqual(tokenNeeds(parseSpec({ datacenter: 'dc1', role: 'server' })), []);
});

interface Stub {
  addr: string;
  requests: { method: string; url: string; token: string | undefined; body: string }[];
  close(): void;
}

/** An agent that knows three tokens; `authorize` false answers 404, as Consul before 1.7 does. */
async function stubAgent({ authorize }: { authorize: boolean }): Promise<Stub> {
  const requests: Stub['requests'] = [];
  const tokens: Record<string, object> = {
    [MANAGEMENT]: {
      AccessorID: 'a-1',
      SecretID: MANAGEMENT,
      Description: 'Master Token',
      Policies: [{ ID: '00000000-0000-0000-0000-000000000001', Name: 'global-management' }],
    },
    [READER]: { AccessorID: 'a-3', SecretID: READER, Policies: [{ ID: 'p-3', Name: 'reader' }] },
    [LIMITED]: {
      AccessorID: 'a-2',
      SecretID: LIMITED,
      Description: 'meshvisor c1',
      Policies: [{ ID: 'p-2', Name: 'meshvisor-c1' }],
    },
  };
  // What LIMITED's policy grants: everything meshvisor-client.hcl does, no operator or intentions.
  const allows = (r: { Resource: string; Segment?: string; Access: string }) =>
    r.Resource === 'agent' || r.Resource === 'node' || r.Resource === 'service';
  const body = (req: IncomingMessage) =>
    new Promise<string>((resolve) => {
      let text = '';
      req.on('data', (chunk) => (text += String(chunk)));
      req.on('end', () => resolve(text));
    });
  const server = createServer(async (req, res) => {
    const token = req.headers['x-consul-token'] as string | undefined;
    const text = await body(req);
    requests.push({ method: req.method ?? '', url: req.url ?? '', token, body: text });
    const known = token ? tokens[token] : undefined;
    if (req.url === '/v1/acl/token/self') {
      if (!known) {
        res.writeHead(403).end('ACL not found');
        return;
      }
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(known));
      return;
    }
    if (req.url === '/v1/agent/self') {
      if (token === LIMITED) res.end(JSON.stringify({ Config: { NodeName: 'c1' } }));
      else res.writeHead(403).end('Permission denied');
      return;
    }
    if (req.url === '/v1/internal/acl/authorize' && authorize) {
      const asked = JSON.parse(text) as { Resource: string; Segment?: string; Access: string }[];
      res.end(JSON.stringify(asked.map((r) => ({ ...r, Allow: token === LIMITED && allows(r) }))));
      return;
    }
    res.writeHead(404).end('404 page not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    addr: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => server.close(),
  };
}

function agentProbe(addr: string, overrides: Partial<AgentProbe> = {}): AgentProbe {
  return {
    addr,
    host: '127.0.0.1',
    which: 'join address',
    leader: '10.0.0.2:8300',
    aclDefaultPolicy: 'deny',
    ...overrides,
  };
}

test("Consul's authorizer answers: allowed rights ✓, denied ones ✗ with the rule to add", async (t) => {
  const stub = await stubAgent({ authorize: true });
  t.after(() => stub.close());
  const result = await checkToken(spec, need('acl.meshvisor'), agentProbe(stub.addr), new Map());
  assert.equal(result.status, 'fail');
  assert.match(
    result.found,
    /^\(consul\.acl\.tokens\.meshvisor\) resolves \(accessor a-2 "meshvisor c1"; policies: meshvisor-c1\); 5 of 7 rights verified, 2 missing$/,
  );
  assert.equal(
    result.fix,
    'add to its policy: operator = "write", service "todos" { intentions = "write" } (config/acl/meshvisor-server.hcl)',
  );
  assert.deepEqual(
    result.details?.map((d) => d.status),
    ['ok', 'ok', 'ok', 'ok', 'ok', 'fail', 'fail'],
  );
  assert.match(
    result.details?.[5]?.text ?? '',
    /operator = "write": PUT \/v1\/config ingress-gateway ingress — Consul's authorizer: denied/,
  );
  // One authorize call with every right, carrying the token in the header, never in the URL.
  const calls = stub.requests.filter((r) => r.url === '/v1/internal/acl/authorize');
  assert.equal(calls.length, 1);
  assert.equal(calls[0]?.token, LIMITED);
  assert.deepEqual(JSON.parse(calls[0]?.body ?? '[]')[0], {
    Resource: 'agent',
    Segment: 'c1',
    Access: 'write',
  });
  assert.ok(stub.requests.every((r) => !r.url.includes('secret')));
});

test('without the authorize endpoint: global-management ✓, other rights ! (never ✓), an unknown token ✗', async (t) => {
  const stub = await stubAgent({ authorize: false });
  t.after(() => stub.close());
  const agent = agentProbe(stub.addr);
  const resolutions = new Map();
  const management = await checkToken(spec, need('acl.agent'), agent, resolutions);
  assert.equal(management.status, 'ok');
  assert.match(management.details?.[0]?.text ?? '', /global-management grants everything/);
  const limited = await checkToken(spec, need('acl.meshvisor'), agent, resolutions);
  assert.equal(limited.status, 'warn');
  assert.match(limited.found, /0 of 7 rights verified, 7 not verifiable here/);
  assert.ok(
    limited.details?.some((d) => /POST \/v1\/internal\/acl\/authorize answered 404/.test(d.text)),
  );
  assert.ok(limited.details?.filter((d) => d.status).every((d) => d.status === 'warn'));
  const unknown = await checkToken(spec, need('acl.service:users-1'), agent, resolutions);
  assert.equal(unknown.status, 'fail');
  assert.match(unknown.found, /^\(services\[0\]\.token\) Consul does not know it: ACL not found/);
  // The gateway shares the meshvisor token: resolved once.
  await checkToken(spec, need('acl.gateway:ingress'), agent, resolutions);
  assert.equal(
    stub.requests.filter((r) => r.url === '/v1/acl/token/self' && r.token === LIMITED).length,
    1,
  );
});

test('an agent without ACLs, no leader yet, and a datacenter that runs default deny under a spec without ACLs', async () => {
  const off = checkAclAgreement(spec, agentProbe('10.0.0.2:8500', { aclDefaultPolicy: 'allow' }));
  assert.equal(off.status, 'warn');
  assert.match(off.found, /answers X-Consul-Default-Acl-Policy: allow/);
  const bootstrap = checkAclAgreement(spec, agentProbe('10.0.0.2:8500', { leader: '' }));
  assert.equal(bootstrap.status, 'warn');
  assert.match(bootstrap.found, /the ACL bootstrap window/);
  assert.equal(checkAclAgreement(spec, undefined).status, 'warn');
  assert.equal(checkAclAgreement(spec, agentProbe('10.0.0.2:8500')).status, 'ok');
  const noAcl = parseSpec({ datacenter: 'dc1', role: 'server' });
  const denied = checkAclOff(noAcl, [agentProbe('10.0.0.2:8500')]);
  assert.equal(denied.status, 'fail');
  assert.match(denied.found, /every call meshvisor makes would be denied/);
  assert.equal(
    checkAclOff(noAcl, [agentProbe('10.0.0.2:8500', { aclDefaultPolicy: 'allow' })]).status,
    'ok',
  );
});

test("with this node's own agent running, GET /v1/agent/self shows agent read (write stays !), or its absence (✗)", async (t) => {
  const stub = await stubAgent({ authorize: false });
  t.after(() => stub.close());
  const own = agentProbe(stub.addr, {
    which: 'this node',
    self: { nodeName: 'c1', datacenter: 'dc1', version: '1.10.12', server: false },
  });
  const limited = await checkToken(spec, need('acl.meshvisor'), own, new Map());
  assert.match(
    limited.details?.[0]?.text ?? '',
    /^agent "c1" \{ policy = "write" \}: .* — GET \/v1\/agent\/self answered, so agent read holds; write not verifiable$/,
  );
  assert.equal(limited.details?.[0]?.status, 'warn');
  // A token Consul knows, without agent read on this node.
  const reader: TokenNeed = { ...need('acl.meshvisor'), token: READER };
  const denied = await checkToken(spec, reader, own, new Map());
  assert.equal(denied.status, 'fail');
  assert.match(denied.details?.[0]?.text ?? '', /answered 403: not even agent read$/);
  assert.match(denied.fix ?? '', /^add to its policy: agent "c1" \{ policy = "write" \}/);
});
