// Contract test: recording 15 (test/recordings/consul-1.10.12/15-acl-authorize), what Consul
// 1.10.12 answers on POST /v1/internal/acl/authorize (the endpoint Consul's UI asks, and
// `meshvisor doctor` with it: src/doctor/acl.ts) with ACLs on and default deny, on a server and
// through a client: a policy token with some rights and not others, a service identity, the
// management token, no token, a token the servers do not know, bodies Consul refuses, and an
// agent without ACLs.
//
//   RECORD=1 CONSUL_BIN=/path/to/consul node --import tsx --test test/contract/consul-acl-authorize.test.ts
//     runs the scenario on the real Consul and (re)writes the recording;
//   CONSUL_BIN=/path/to/consul node --import tsx --test test/contract/consul-acl-authorize.test.ts
//     compares the real Consul's answers with it; without CONSUL_BIN that half is skipped.
//   The double's half always runs and compares the double with the same recording.
//
// Agents on loopback 127.0.94.X; every answer is kept whole (status, the headers that matter,
// the body, the `Request error` the agent logged for it) and compared step by step.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { format } from 'prettier';
import { buildDoubles, CONSUL_DOUBLE } from '../helpers/doubles.ts';
import { MANAGEMENT, UNKNOWN } from './acl-replay.ts';
import { DoubleProcess, killAll } from './harness.ts';

const VERSION = '1.10.12';
const RECORDING = fileURLToPath(
  new URL(`../recordings/consul-${VERSION}/15-acl-authorize/`, import.meta.url),
);
const PATH = '/v1/internal/acl/authorize';

/** The tokens the steps send, by the name the recording gives them (secrets chosen, as 1.10 allows). */
const TOKENS: Record<string, string | undefined> = {
  management: MANAGEMENT,
  limited: '5a1e0c3d-1d2b-4c5e-8f70-000000000015',
  'service-identity users': '5a1e0c3d-1d2b-4c5e-8f70-000000000016',
  unknown: UNKNOWN,
  none: undefined,
};
type TokenName = keyof typeof TOKENS;

/** The policy of the "limited" token: some of what a node needs, and some of it taken back. */
const LIMITED_RULES = `agent "cluster-1" { policy = "write" }
node_prefix "" { policy = "read" }
service_prefix "" { policy = "write" }
service "todos" { policy = "read" }
service_prefix "secret-" { policy = "deny" }
key_prefix "app/" { policy = "read" }
`;

const AGENTS = {
  server: { ip: '127.0.94.1', node: 'consul-server' },
  client: { ip: '127.0.94.2', node: 'cluster-1' },
  'no-acl': { ip: '127.0.94.3', node: 'no-acl' },
} as const;
type AgentName = keyof typeof AGENTS;

const acl = (tokens: Record<string, string>) => ({
  enabled: true,
  default_policy: 'deny',
  tokens,
});

/** Each agent's config file; `<dir>` is the workspace. */
function configOf(name: AgentName): Record<string, unknown> {
  const { ip, node } = AGENTS[name];
  const base = {
    datacenter: 'our_dc',
    node_name: node,
    data_dir: `<dir>/${name}`,
    bind_addr: ip,
    client_addr: ip,
    disable_update_check: true,
  };
  const server = { server: true, bootstrap_expect: 1, performance: { raft_multiplier: 1 } };
  if (name === 'server') return { ...base, ...server, acl: acl({ master: MANAGEMENT }) };
  if (name === 'client') return { ...base, acl: acl({ agent: MANAGEMENT }) };
  return { ...base, ...server };
}
const CONFIGS = Object.fromEntries(Object.keys(AGENTS).map((a) => [a, configOf(a as AgentName)]));

/** The rights asked of each token: what a node needs (src/consul/rights.ts) and around it. */
const RIGHTS: [string, string, string][] = [
  ['agent', 'cluster-1', 'write'],
  ['agent', 'consul-server', 'read'],
  ['node', 'cluster-1', 'read'],
  ['node', 'cluster-1', 'write'],
  ['service', 'users', 'write'],
  ['service', 'users-sidecar-proxy', 'write'],
  ['service', 'todos', 'read'],
  ['service', 'todos', 'write'],
  ['service', 'secret-db', 'read'],
  ['intention', 'users', 'read'],
  ['intention', 'users', 'write'],
  ['intention', 'todos', 'write'],
  ['operator', '', 'read'],
  ['operator', '', 'write'],
  ['acl', '', 'read'],
  ['key', 'app/config', 'read'],
  ['key', 'app/config', 'write'],
];
/** As doctor sends them: no Segment where the resource has none. */
const RIGHTS_BODY = JSON.stringify(
  RIGHTS.map(([Resource, Segment, Access]) => ({
    Resource,
    ...(Segment ? { Segment } : {}),
    Access,
  })),
);
const one = (r: Record<string, unknown>): string => JSON.stringify([r]);
const many = (n: number): string =>
  JSON.stringify(
    Array.from({ length: n }, () => ({ Resource: 'service', Segment: 'users', Access: 'read' })),
  );

interface Call {
  what: string;
  token: TokenName;
  body: string | null;
  method?: string;
}

/** A call; the `limited` token unless said otherwise. */
const call = (
  what: string,
  body: string | null,
  token: TokenName = 'limited',
  method?: string,
) => ({
  what,
  token,
  body,
  ...(method ? { method } : {}),
});
const NOPE = one({ Resource: 'nope', Segment: 'x', Access: 'read' });

/** The calls made of each ACL agent. */
const CALLS: Call[] = [
  call('a policy token: each right allowed or not', RIGHTS_BODY),
  call('a service identity', RIGHTS_BODY, 'service-identity users'),
  call('the management token', RIGHTS_BODY, 'management'),
  call('no token (anonymous)', RIGHTS_BODY, 'none'),
  call('a token the servers do not know', RIGHTS_BODY, 'unknown'),
  call('an unknown token, an empty list', '[]', 'unknown'),
  call('an unknown token, a body cut short', '[{', 'unknown'),
  call('an unknown token, an unknown resource', NOPE, 'unknown'),
  call('no token, an unknown resource', NOPE, 'none'),
  call('an empty list', '[]'),
  call('null', 'null'),
  call('no body', null),
  call('a body cut short', '[{'),
  call('an object, not a list', '{}'),
  call('an unknown resource', NOPE),
  call('a resource in capitals', one({ Resource: 'Service', Segment: 'users', Access: 'read' })),
  call('a level the resource has not', one({ Resource: 'service', Segment: 'u', Access: 'list' })),
  call('no access level', one({ Resource: 'service', Segment: 'users' })),
  call('an unknown field', one({ Resource: 'service', Access: 'read', Extra: 1 })),
  call('field names in lower case', one({ resource: 'service', segment: 'u', access: 'write' })),
  call('a service without a Segment', one({ Resource: 'service', Access: 'read' })),
  call('operator with a Segment', one({ Resource: 'operator', Segment: 'x', Access: 'read' })),
  call('65 requests', many(65)),
  call('GET', null, 'limited', 'GET'),
];

/** The calls made of an agent without ACLs. */
const NO_ACL_CALLS: Call[] = [
  call('the management token', RIGHTS_BODY, 'management'),
  call('a body cut short', '[{', 'none'),
];

interface Step {
  step: string;
  [k: string]: unknown;
}

interface Recording {
  what: string;
  consul: string;
  configs: Record<string, unknown>;
  policy: string;
  steps: Step[];
}

/** `Request error` messages an agent logged (`error=` of `agent.http: Request error: …`). */
const requestErrors = (log: string): string[] =>
  [...log.matchAll(/agent\.http: Request error: .* error=(.*)$/gm)].map((m) => {
    const v = m[1] as string;
    return v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
  });

async function send(ip: string, c: Call): Promise<Response> {
  const token = TOKENS[c.token];
  return fetch(`http://${ip}:8500${PATH}`, {
    method: c.method ?? 'POST',
    headers: token ? { 'X-Consul-Token': token } : {},
    ...(c.body !== null ? { body: c.body } : {}),
  });
}

/** One call as a step: the answer, and what the agent logged for it. */
async function step(agent: AgentName, proc: DoubleProcess, c: Call): Promise<Step> {
  const logged = requestErrors(proc.stdout).length;
  const res = await send(AGENTS[agent].ip, c);
  const type = res.headers.get('content-type');
  const raw = await res.text();
  const headers: Record<string, string> = {};
  for (const h of ['Content-Type', 'X-Consul-Default-Acl-Policy', 'Allow']) {
    const v = res.headers.get(h);
    if (v !== null) headers[h] = v;
  }
  // A refusal is logged before it is answered; the line may be read from the pipe a little later.
  const t0 = Date.now();
  while (res.status >= 400 && requestErrors(proc.stdout).length === logged) {
    if (Date.now() - t0 > 500) break;
    await sleep(20);
  }
  return {
    step: `${agent}: ${c.what}`,
    request: { method: c.method ?? 'POST', token: c.token, body: c.body },
    status: res.status,
    headers,
    answer: type?.includes('json') ? (JSON.parse(raw) as unknown) : raw,
    logged: requestErrors(proc.stdout).slice(logged),
  };
}

/** Asks every 25 ms until the answer is 200: the answers it went through (repeats collapsed). */
async function until200(ask: () => Promise<Response>, timeoutMs = 20_000): Promise<string[]> {
  const seen: string[] = [];
  const t0 = Date.now();
  for (;;) {
    let phase = 'no answer';
    let status = 0;
    try {
      const res = await ask();
      status = res.status;
      phase = status === 200 ? '200' : `${status} ${await res.text()}`;
    } catch {
      // not listening yet
    }
    if (seen.at(-1) !== phase) seen.push(phase);
    if (status === 200) return seen.filter((p) => p !== 'no answer');
    if (Date.now() - t0 > timeoutMs) throw new Error(`no 200 after: ${seen.join(' | ')}`);
    await sleep(25);
  }
}

async function put(ip: string, path: string, body: unknown): Promise<void> {
  const res = await fetch(`http://${ip}:8500${path}`, {
    method: 'PUT',
    headers: { 'X-Consul-Token': MANAGEMENT },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 200, `PUT ${path}: ${await res.text()}`);
}

/** The whole scenario on `bin` (the double or a real consul): its steps. */
async function scenario(bin: string, dir: string): Promise<Step[]> {
  const start = (name: AgentName, args: string[] = []): DoubleProcess => {
    const file = join(dir, `${name}.json`);
    writeFileSync(file, JSON.stringify(configOf(name)).replaceAll('<dir>', dir));
    return new DoubleProcess(['agent', `-config-file=${file}`, ...args], dir, {}, bin);
  };
  const steps: Step[] = [];
  const server = start('server');
  // The ACL bootstrap window: refused, even for the management token, until the leader.
  const check = call('the management token', RIGHTS_BODY, 'management');
  steps.push({
    step: 'server: the management token from its first answer until 200',
    answers: await until200(() => send(AGENTS.server.ip, check)),
  });
  await put(AGENTS.server.ip, '/v1/acl/policy', { Name: 'limited', Rules: LIMITED_RULES });
  await put(AGENTS.server.ip, '/v1/acl/token', {
    Description: 'limited',
    SecretID: TOKENS.limited,
    Policies: [{ Name: 'limited' }],
  });
  await put(AGENTS.server.ip, '/v1/acl/token', {
    Description: 'service identity users',
    SecretID: TOKENS['service-identity users'],
    ServiceIdentities: [{ ServiceName: 'users' }],
  });
  const client = start('client', ['-join', AGENTS.server.ip]);
  // Joined, and out of 1.10's legacy ACL mode (which refuses anonymous calls).
  await until200(() => send(AGENTS.client.ip, { ...check, token: 'none' }));
  for (const [name, proc] of [
    ['server', server],
    ['client', client],
  ] as const)
    for (const c of CALLS) steps.push(await step(name, proc, c));
  const noAcl = start('no-acl');
  await until200(() => fetch(`http://${AGENTS['no-acl'].ip}:8500/v1/status/leader`));
  for (const c of NO_ACL_CALLS) steps.push(await step('no-acl', noAcl, c));
  for (const p of [server, client, noAcl]) p.kill('SIGKILL');
  return steps;
}

// ---- recording and comparing -------------------------------------------------------------------

const CONSUL_BIN = process.env.CONSUL_BIN;
const RECORD = process.env.RECORD === '1';

const versionOf = (bin: string): string =>
  (spawnSync(bin, ['version'], { encoding: 'utf8' }).stdout ?? '').split('\n')[0] ?? '';

const loadRecording = (): Recording =>
  JSON.parse(readFileSync(join(RECORDING, 'authorize.json'), 'utf8')) as Recording;

async function writeRecording(rec: Recording): Promise<void> {
  mkdirSync(RECORDING, { recursive: true });
  const file = join(RECORDING, 'authorize.json');
  writeFileSync(file, await format(JSON.stringify(rec), { filepath: file, printWidth: 100 }));
}

function assertLikeRecording(steps: Step[]): void {
  const rec = loadRecording();
  assert.deepEqual(rec.policy, LIMITED_RULES, 'the recording was made with this policy');
  assert.deepEqual(rec.configs, CONFIGS, 'the recording was made with these configs');
  assert.deepEqual(
    steps.map((s) => s.step),
    rec.steps.map((s) => s.step),
    'the same steps as the recording',
  );
  steps.forEach((s, i) => assert.deepEqual(s, rec.steps[i], `step "${s.step}" as recorded`));
}

function workspace(): { readonly dir: string } {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'consul-authorize-'));
  });
  after(() => {
    killAll();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    get dir() {
      return dir;
    },
  };
}

const realSkip = !CONSUL_BIN
  ? `CONSUL_BIN is not set (point it at a Consul ${VERSION} binary to run the contract against it)`
  : versionOf(CONSUL_BIN) !== `Consul v${VERSION}`
    ? `CONSUL_BIN is ${versionOf(CONSUL_BIN)}; the recording (and RECORD=1) is of ${VERSION}`
    : false;

describe(`the real Consul's ${PATH} (CONSUL_BIN, recording 15)`, { skip: realSkip }, () => {
  const ws = workspace();
  it('every step as recorded', async () => {
    const steps = await scenario(CONSUL_BIN as string, ws.dir);
    if (!RECORD) return assertLikeRecording(steps);
    await writeRecording({
      what: `POST ${PATH} on Consul ${VERSION}, ACLs on (default deny): a server and a client joined to it, then an agent without ACLs`,
      consul: versionOf(CONSUL_BIN as string),
      configs: CONFIGS,
      policy: LIMITED_RULES,
      steps,
    });
  });
});

describe(`the consul double's ${PATH}, held to recording 15`, () => {
  before(() => buildDoubles());
  const ws = workspace();
  it('every step as recorded', async () => {
    assertLikeRecording(await scenario(CONSUL_DOUBLE, ws.dir));
  });
});
