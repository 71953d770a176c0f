import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setImmediate as setImmediateP, setTimeout as setTimeoutP } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  ConsulClient,
  ConsulError,
  LogWake,
  NotYet,
  StageError,
  applyConfigEntry,
  entryMatches,
  pollUntil,
  READINESS_STAGES,
  StageMemory,
} from '../../src/consul/index.ts';
import { localHttpServer } from '../helpers/http-server.ts';

const RECORDINGS_12 = fileURLToPath(
  new URL('../../../shared/recordings/consul-1.10.12/12-entry-errors/', import.meta.url),
);

interface Recorded {
  method: string;
  status: number | null;
  body: string | null;
}

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

/** A local HTTP server answering with the texts recorded from Consul 1.10.12. */
async function withAgent(handler: Handler, run: (client: ConsulClient) => Promise<void>) {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => handler(req, body, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    await run(new ConsulClient({ httpAddr: `127.0.0.1:${port}`, timeoutMs: 2000 }));
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

function text(res: ServerResponse, status: number, body: string) {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(body);
}
function json(res: ServerResponse, body: unknown) {
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

const poll = (deadlineMs = 3000) => ({
  deadline: Date.now() + deadlineMs,
  signal: AbortSignal.timeout(10_000),
  minDelayMs: 5,
  maxDelayMs: 20,
});

test('a client without servers: 500 "No known Consul servers" is transient', async () => {
  await withAgent(
    (_req, _b, res) => text(res, 500, 'No known Consul servers'),
    async (client) => {
      const err = await client.leader().catch((e: unknown) => e);
      assert.ok(err instanceof ConsulError);
      assert.equal(err.status, 500);
      assert.equal(err.transient, true);
      assert.equal(err.message, 'No known Consul servers');
    },
  );
});

test('no answer at all (connection refused) is transient', async () => {
  const client = new ConsulClient({ httpAddr: '127.0.0.1:1', timeoutMs: 1000 });
  const err = await client.self().catch((e: unknown) => e);
  assert.ok(err instanceof ConsulError);
  assert.equal(err.status, null);
  assert.equal(err.transient, true);
  assert.match(err.message, /ECONNREFUSED/);
});

test("recording 12's rule: every recorded answer to PUT /v1/config is classified as the README says", () => {
  const dir = RECORDINGS_12;
  const records = readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => /^\d[a-z]?-[^/]+\/\d-.*\.json$/.test(f))
    .map((f) => ({ file: f, ...(JSON.parse(readFileSync(join(dir, f), 'utf8')) as Recorded) }))
    .filter((r) => r.method === 'PUT' && typeof r.status === 'number' && r.status !== 200);
  assert.ok(records.length >= 40, `found ${records.length} recorded rejections`);
  for (const r of records) {
    const err = ConsulError.fromResponse(r.status!, r.body ?? '');
    const body = (r.body ?? '').trim();
    // The three "not yet" answers appeared for the valid control entry too (#6).
    const notYet =
      body === 'No known Consul servers' ||
      body.startsWith('rpc error getting client:') ||
      body === 'rpc error making call: No cluster leader';
    assert.equal(err.transient, notYet, `${r.file}: ${body}`);
    if (!notYet && r.status === 500) {
      // A rejection's reason is the server's own text, whichever agent answered.
      assert.equal(err.message, body.replace(/^rpc error making call: /, ''), r.file);
    }
  }
  const viaClient = records.find(
    (r) => r.file === '1-joined/1-splitter-weights-50.via-client.json',
  );
  const viaServer = records.find(
    (r) => r.file === '1-joined/1-splitter-weights-50.via-server.json',
  );
  assert.equal(
    ConsulError.fromResponse(500, viaClient!.body!).message,
    ConsulError.fromResponse(500, viaServer!.body!).message,
  );
});

test('transport failures inside an RPC error are transient; 400 and 403 never are', () => {
  for (const body of [
    'rpc error making call: EOF',
    'rpc error making call: dial tcp 10.0.0.2:0->10.0.0.1:8300: connect: connection refused',
    'rpc error making call: read tcp 10.0.0.2:5->10.0.0.1:8300: i/o timeout',
  ]) {
    assert.equal(ConsulError.fromResponse(500, body).transient, true, body);
  }
  assert.equal(ConsulError.fromResponse(500, 'Name is required').transient, false);
  assert.equal(
    ConsulError.fromResponse(400, 'Bad request: Request decoding failed: x').transient,
    false,
  );
  const denied = ConsulError.fromResponse(403, 'rpc error making call: Permission denied');
  assert.equal(denied.transient, false);
  assert.equal(denied.message, 'Permission denied', 'the same words through a client or a server');
  assert.equal(ConsulError.fromResponse(429, 'rate limited').transient, true);
});

test('a node that left answers `200 null` until its rejoin syncs (recording 10): absent, not an error', async () => {
  let calls = 0;
  await withAgent(
    (_req, _b, res) =>
      ++calls === 1
        ? json(res, null)
        : json(res, { Node: { Node: 'c1' }, Services: { 'web-1': {}, 'web-1-sidecar-proxy': {} } }),
    async (client) => {
      assert.equal(await client.catalogNode('c1'), null);
      assert.deepEqual(await client.catalogNode('c1'), {
        serviceIds: ['web-1', 'web-1-sidecar-proxy'],
      });
    },
  );
});

test('each call is the documented route, with the token as X-Consul-Token', async (t) => {
  const seen: string[] = [];
  const { port } = await localHttpServer(t, (req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers['x-consul-token']}`);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    if (req.url === '/v1/agent/members') res.end('[{"Name":"c1","Addr":"10.0.0.2","Status":1}]');
    else if (req.url === '/v1/agent/services') res.end('{"web-1":{"ID":"web-1","Service":"web"}}');
    else res.end(req.method === 'PUT' ? '' : 'null');
  });
  const client = new ConsulClient({ httpAddr: `127.0.0.1:${port}`, token: 'secret' });
  assert.deepEqual(await client.members(), [{ Name: 'c1', Addr: '10.0.0.2', Status: 1 }]);
  assert.deepEqual(Object.keys(await client.services()), ['web-1']);
  assert.equal(await client.catalogNode('node/1'), null);
  await client.maintenance('web-1', true, 'meshvisor: node stopping');
  await client.deregister('web-1');
  assert.deepEqual(seen, [
    'GET /v1/agent/members secret',
    'GET /v1/agent/services secret',
    'GET /v1/catalog/node/node%2F1 secret',
    'PUT /v1/agent/service/maintenance/web-1?enable=true&reason=meshvisor%3A%20node%20stopping secret',
    'PUT /v1/agent/service/deregister/web-1 secret',
  ]);
});

test('leader "" while no leader is elected, then the RPC address', async () => {
  let calls = 0;
  await withAgent(
    (_req, _b, res) => json(res, ++calls < 3 ? '' : '10.77.0.10:8300'),
    async (client) => {
      assert.equal(await client.leader(), '');
      assert.equal(await client.leader(), '');
      assert.equal(await client.leader(), '10.77.0.10:8300');
    },
  );
});

test('pollUntil retries "not yet" and transient errors, then returns the value', async () => {
  let n = 0;
  const retries: string[] = [];
  const value = await pollUntil(
    'leader-known',
    async () => {
      n++;
      if (n === 1) throw ConsulError.fromResponse(500, 'No known Consul servers');
      if (n === 2) throw new NotYet('no cluster leader elected yet');
      return 'ok';
    },
    { ...poll(), hint: 'h', onRetry: (m) => retries.push(m) },
  );
  assert.equal(value, 'ok');
  assert.deepEqual(retries, ['No known Consul servers', 'no cluster leader elected yet']);
});

test('pollUntil stops at once on a permanent error, naming the stage', async () => {
  let n = 0;
  const err = await pollUntil(
    'config-entries',
    async () => {
      n++;
      throw ConsulError.fromResponse(400, 'Request decode failed: json: unknown field "X"');
    },
    { ...poll(), hint: 'h' },
  ).catch((e: unknown) => e);
  assert.equal(n, 1);
  assert.ok(err instanceof StageError);
  assert.equal(err.timedOut, false);
  assert.match(err.message, /^config-entries: Request decode failed/);
});

test('pollUntil gives up at the deadline with the stage, the last error and what to check', async () => {
  const err = await pollUntil(
    'leader-known',
    async () => {
      throw ConsulError.fromResponse(500, 'No known Consul servers');
    },
    { ...poll(200), hint: 'consul.retryJoin' },
  ).catch((e: unknown) => e);
  assert.ok(err instanceof StageError);
  assert.equal(err.timedOut, true);
  assert.match(
    err.message,
    /leader-known: not done before the readiness deadline; last error: No known Consul servers; check: consul.retryJoin/,
  );
});

const WAKE_LINES = new Set(READINESS_STAGES.flatMap((stage) => stage.wakeOn));

/** A poll whose backoff is a minute: only a wake can make it check again within the test. */
const slowPoll = () => ({
  deadline: Date.now() + 120_000,
  signal: AbortSignal.timeout(10_000),
  minDelayMs: 60_000,
  maxDelayMs: 60_000,
  hint: 'h',
});

test('a poll checks again at once when the agent logs a line its stage waits for', async () => {
  const wake = new LogWake(WAKE_LINES);
  let leader = '';
  let attempts = 0;
  const elected = pollUntil(
    'leader-known',
    async () => {
      attempts++;
      if (leader === '') throw new NotYet('no cluster leader elected yet');
      return leader;
    },
    { ...slowPoll(), wake: wake.on(['New leader elected', 'adding server']) },
  );
  await setImmediateP();
  assert.equal(attempts, 1);
  leader = '10.0.0.10:8300';
  wake.saw('New leader elected');
  assert.equal(await elected, '10.0.0.10:8300');
  assert.equal(attempts, 2);
});

test('a line logged while an attempt is in flight ends the next backoff', async () => {
  const wake = new LogWake(WAKE_LINES);
  let attempts = 0;
  const synced = await pollUntil(
    'node-synced',
    async () => {
      attempts++;
      // The catalog was read just before the sync landed; its line arrives before the answer.
      if (attempts === 1) {
        wake.saw('Synced node info');
        throw new NotYet('node is not in the catalog yet');
      }
      return 'synced';
    },
    { ...slowPoll(), wake: wake.on(['Synced node info', 'Synced service']) },
  );
  assert.equal(synced, 'synced');
  assert.equal(attempts, 2);
});

test('lines a stage does not wait for leave its backoff alone; a stop ends it', async () => {
  const wake = new LogWake(WAKE_LINES);
  const stop = new AbortController();
  const waker = wake.on(['Synced node info']);
  const sleeping = waker.sleep(60_000, stop.signal).then(() => 'woken');
  wake.saw('New leader elected');
  wake.saw('Synced check');
  const early = await Promise.race([sleeping, setTimeoutP(100).then(() => 'still waiting')]);
  assert.equal(early, 'still waiting');
  stop.abort(new Error('stop requested'));
  await assert.rejects(sleeping, /stop requested/);
});

test('entryMatches: Consul-filled fields and CamelCase vs snake_case do not count as a change', () => {
  const stored = {
    Kind: 'service-intentions',
    Name: 'todos',
    Sources: [{ Name: 'users', Action: 'allow', Precedence: 9, Type: 'consul' }],
    CreateIndex: 48,
    ModifyIndex: 48,
  };
  assert.equal(
    entryMatches(
      { Kind: 'service-intentions', Name: 'todos', Sources: [{ Name: 'users', Action: 'allow' }] },
      stored,
    ),
    true,
  );
  assert.equal(
    entryMatches(
      { kind: 'service-intentions', name: 'todos', sources: [{ name: 'users', action: 'allow' }] },
      stored,
    ),
    true,
  );
  assert.equal(
    entryMatches(
      { Kind: 'service-intentions', Name: 'todos', Sources: [{ Name: 'users', Action: 'deny' }] },
      stored,
    ),
    false,
  );
  assert.equal(
    entryMatches({ Kind: 'service-intentions', Name: 'todos', Sources: [] }, stored),
    false,
  );
  assert.equal(
    entryMatches(
      { Kind: 'service-defaults', Name: 'users', Protocol: 'http' },
      {
        Kind: 'service-defaults',
        Name: 'users',
        Protocol: 'http',
        MeshGateway: {},
        Expose: {},
        ModifyIndex: 1,
      },
    ),
    true,
  );
  assert.equal(entryMatches({ mesh_gateway: { mode: 'local' } }, { MeshGateway: {} }), false);
});

/** An in-memory /v1/config with the recorded semantics (fact 9). */
function configStore(options: { rejectWith?: string; casMissesFirst?: boolean } = {}) {
  const entries = new Map<string, Record<string, unknown>>();
  let index = 10;
  let misses = options.casMissesFirst ? 1 : 0;
  const puts: string[] = [];
  const gets: string[] = [];
  const handler: Handler = (req, body, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'GET') {
      gets.push(url.pathname);
      const [, , , kind, name] = url.pathname.split('/');
      if (name === undefined) {
        // The kind's list, 200 even when empty: no [ERROR] line in Consul's log.
        return json(
          res,
          [...entries.values()].filter((e) => e.Kind === kind),
        );
      }
      const entry = entries.get(`${kind}/${name}`);
      if (!entry) return text(res, 404, `Config entry not found for "${kind}" / "${name}"`);
      return json(res, entry);
    }
    puts.push(url.search);
    if (options.rejectWith) return text(res, 500, options.rejectWith);
    const entry = JSON.parse(body) as { Kind: string; Name: string };
    const key = `${entry.Kind}/${entry.Name}`;
    const cas = Number(url.searchParams.get('cas'));
    if (misses > 0) {
      misses--;
      entries.set(key, { ...entry, Protocol: 'tcp', ModifyIndex: ++index });
      return json(res, false);
    }
    const current = entries.get(key);
    if ((current?.ModifyIndex ?? 0) !== cas) return json(res, false);
    entries.set(key, { ...entry, CreateIndex: index, ModifyIndex: ++index });
    return json(res, true);
  };
  return { handler, entries, puts, gets };
}

const usersHttp = { Kind: 'service-defaults', Name: 'users', Protocol: 'http' };

test('applyConfigEntry creates a missing entry with cas=0, then finds it unchanged', async () => {
  const store = configStore();
  await withAgent(store.handler, async (client) => {
    assert.equal(await applyConfigEntry(client, usersHttp, poll()), 'written');
    assert.equal(await applyConfigEntry(client, usersHttp, poll()), 'unchanged');
    assert.deepEqual(store.puts, ['?cas=0']);
    // Read through the kind's list, never a GET of a missing entry (Consul logs a 404 as ERROR).
    assert.deepEqual(store.gets, ['/v1/config/service-defaults', '/v1/config/service-defaults']);
  });
});

test('applyConfigEntry updates a different entry with cas=<ModifyIndex>', async () => {
  const store = configStore();
  store.entries.set('service-defaults/users', { ...usersHttp, Protocol: 'tcp', ModifyIndex: 42 });
  await withAgent(store.handler, async (client) => {
    assert.equal(await applyConfigEntry(client, usersHttp, poll()), 'written');
    assert.deepEqual(store.puts, ['?cas=42']);
    assert.equal(store.entries.get('service-defaults/users')?.Protocol, 'http');
  });
});

test('applyConfigEntry converges when another writer wins the check-and-set', async () => {
  const store = configStore({ casMissesFirst: true });
  await withAgent(store.handler, async (client) => {
    assert.equal(await applyConfigEntry(client, usersHttp, poll()), 'written');
    assert.equal(store.puts.length, 2);
    assert.equal(store.entries.get('service-defaults/users')?.Protocol, 'http');
  });
});

test("applyConfigEntry fails at once, naming the entry and Consul's reason, when Consul rejects it", async () => {
  const reason =
    'service "users" has protocol "tcp", which does not match defined listener protocol "http"';
  const store = configStore({ rejectWith: reason });
  await withAgent(store.handler, async (client) => {
    const err = await applyConfigEntry(
      client,
      { Kind: 'ingress-gateway', Name: 'ingress-service' },
      poll(),
    ).catch((e: unknown) => e);
    assert.ok(err instanceof StageError);
    assert.equal(err.timedOut, false);
    assert.equal(
      err.message,
      `config-entries: ingress-gateway/ingress-service rejected by Consul: ${reason}`,
    );
    assert.equal(store.puts.length, 1);
  });
});

describe('readiness with ACLs (recording 11)', () => {
  const stage = (name: string) => READINESS_STAGES.find((s) => s.name === name)!;
  const target = (refusals: [string, string][] = []) => ({
    nodeName: 'cluster-1',
    serviceIds: ['users-1', 'users-1-sidecar-proxy'],
    autoEncrypt: false,
    aclRefusals: new Map(refusals),
  });

  test('http-up: 403 while the cluster has no leader is "not yet"; one that outlasts the token resolution with a leader is a denial naming the permission', async () => {
    let leader = '';
    let now = 0;
    const memory = new StageMemory(() => now);
    await withAgent(
      (req, _b, res) =>
        req.url === '/v1/status/leader' ? json(res, leader) : text(res, 403, 'ACL not found'),
      async (client) => {
        await assert.rejects(stage('http-up').check(client, target(), memory), (err: unknown) => {
          assert.ok(err instanceof NotYet);
          assert.match(
            err.message,
            /^ACL not found: ACL tokens resolve only once the servers have a leader/,
          );
          return true;
        });
        leader = '10.88.0.10:8300';
        await assert.rejects(stage('http-up').check(client, target(), memory), NotYet);
        now += 5000;
        await assert.rejects(stage('http-up').check(client, target(), memory), (err: unknown) => {
          assert.ok(err instanceof ConsulError && err.status === 403 && !err.transient);
          assert.match(
            err.message,
            /GET \/v1\/agent\/self: ACL not found: .* needs agent "cluster-1" read/,
          );
          return true;
        });
      },
    );
  });

  test('node-synced: a registration the agent logged as blocked by ACLs fails at once, naming the token', async () => {
    await withAgent(
      (_req, _b, res) => json(res, { Node: { Node: 'cluster-1' }, Services: {} }),
      async (client) => {
        await assert.rejects(
          stage('node-synced').check(client, target(), new StageMemory()),
          NotYet,
        );
        const refused = target([['users-1', '00000000-0000-0000-0000-000000000002']]);
        await assert.rejects(
          stage('node-synced').check(client, refused, new StageMemory()),
          (err: unknown) => {
            assert.ok(err instanceof ConsulError && err.status === 403);
            assert.match(
              err.message,
              /^Consul refused to register users-1: Service registration blocked by ACLs .* needs service:write/,
            );
            return true;
          },
        );
      },
    );
  });
});

test('http-up with auto-encrypt: the wait message and the hint say the API opens only after a server signed the certificate', async () => {
  const httpUp = READINESS_STAGES.find((s) => s.name === 'http-up')!;
  const target = {
    nodeName: 'cluster-1',
    serviceIds: [],
    autoEncrypt: true,
    aclRefusals: new Map<string, string>(),
  };
  assert.match(httpUp.hint(target), /auto-encrypt: .*signed its certificate.*caFile/);
  assert.doesNotMatch(httpUp.hint({ ...target, autoEncrypt: false }), /auto-encrypt/);
  const closed = new ConsulClient({ httpAddr: '127.0.0.1:1', timeoutMs: 1000 });
  await assert.rejects(httpUp.check(closed, target, new StageMemory()), (err: unknown) => {
    assert.ok(err instanceof ConsulError && err.transient);
    assert.match(err.message, /ECONNREFUSED \(auto-encrypt: waiting for a server to sign/);
    return true;
  });
});
