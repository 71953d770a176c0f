// Contract test: replays the real Consul 1.10.12 recordings of folders 01–04 and 07–09 against
// the consul double, in the recording's order, on loopback 127.0.77.X (for 10.77.0.X). Every
// recorded request must get the recorded status and JSON shape (or text); every CLI call the
// recorded exit code and output. A mismatch names the recording file.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildDoubles } from '../helpers/doubles.ts';
import { DoubleProcess, Workspace, httpCall, killAll, replayCli, replayHttp } from './harness.ts';
import type { CliRecord, HttpRecord, Record_ } from './recordings.ts';
import { loadRecord, recordingPath } from './recordings.ts';

const SERVER = 'http://127.0.77.10:8500';
const C1 = 'http://127.0.77.11:8500';
/** Where a CLI call without -http-addr went in each recording namespace. */
const DEFAULT_ADDR: Record<string, string> = { 'rec-srv': '127.0.77.10:8500' };

let ws: Workspace;
const agents: Record<string, DoubleProcess> = {};

function start(name: string, configFile: string, env: Record<string, string> = {}): DoubleProcess {
  const p = new DoubleProcess(['agent', `-config-file=./configs/${configFile}`], ws.dir, env);
  agents[name] = p;
  return p;
}

/** The recording files of a folder matching `re`, in recorded order. */
function files(folder: string, re: RegExp): string[] {
  return readdirSync(recordingPath(folder))
    .filter((f) => re.test(f) && f.endsWith('.json'))
    .map((f) => `${folder}/${f}`)
    .filter((rel) => {
      try {
        const r = loadRecord(rel);
        return r.kind === 'http' || r.kind === 'cli';
      } catch {
        return false; // e.g. 09-reload/07-config-used.syntax-error.json
      }
    })
    .sort((a, b) => (loadRecord(a).recorded_at < loadRecord(b).recorded_at ? -1 : 1));
}

async function replay(rel: string, stdin?: string): Promise<void> {
  const rec: Record_ = loadRecord(rel);
  const problems =
    rec.kind === 'http'
      ? await replayHttp(ws, rec as HttpRecord)
      : await replayCli(ws, rec as CliRecord, DEFAULT_ADDR, stdin);
  assert.deepEqual(
    problems,
    [],
    `${rel} does not match the recording:\n  ${problems.join('\n  ')}`,
  );
}

async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!(await fn().catch(() => false))) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function checkStatus(id: string): Promise<string | undefined> {
  const r = await httpCall('GET', `${C1}/v1/agent/checks`);
  return (JSON.parse(r.body) as Record<string, { Status: string }>)[id]?.Status;
}

before(() => {
  buildDoubles();
  ws = new Workspace();
});

let app: Server | undefined;

after(() => {
  app?.close();
  app?.closeAllConnections();
  killAll();
  ws?.remove();
});

describe('consul double vs recordings (01–04, 07–09)', { concurrency: false }, () => {
  test('02 client before any server: local endpoints 200, the rest 500 No known Consul servers', async () => {
    // A long retry interval keeps the client unjoined while the server's own phase is replayed.
    const c1 = start('c1', 'client-c1.json', { CONSUL_DOUBLE_RETRY_INTERVAL_MS: '6000' });
    await c1.waitForLog(/Consul agent running!/);
    await c1.waitForLog(
      /Join cluster failed, will retry: cluster=LAN retry_interval=6s error=<nil>/,
    );
    for (const rel of files('02-client-before-server', /^no-server\./)) await replay(rel);
  });

  test('01 server: leader "" and blocking reads before the election, then the leader', async () => {
    const srv = start('srv', 'server.json', { CONSUL_DOUBLE_ELECTION_MS: '1500' });
    await srv.waitForLog(/Consul agent running!/);
    for (const rel of ['status-leader', 'status-peers', 'agent-members', 'agent-self']) {
      await replay(`01-server-start/no-leader-phase/${rel}.json`);
    }
    const t0 = Date.now();
    for (const rel of files('01-server-start/no-leader-phase', /^(catalog|health|config)/))
      await replay(rel);
    assert.ok(Date.now() - t0 > 800, 'catalog/health reads must block until the leader exists');
    // That probe server was a separate fresh one in the recording: undo its config write.
    const put = loadRecord('01-server-start/no-leader-phase/config-write-put.json') as HttpRecord;
    const entry = JSON.parse(put.request_body ?? '{}') as { Kind: string; Name: string };
    await httpCall('DELETE', `${SERVER}/v1/config/${entry.Kind}/${entry.Name}`);
    await srv.waitForLog(/Synced node info/);
    // (status-leader-via-loopback: the suite keeps the server off 0.0.0.0, see Workspace.adaptText)
    for (const rel of files(
      '01-server-start',
      /^(status-(leader|peers)\.|agent-members|catalog|health|connect)/,
    )) {
      await replay(rel);
    }
    const self = await httpCall('GET', `${SERVER}/v1/agent/self`);
    const trimmed = loadRecord('01-server-start/agent-self.trimmed.json') as HttpRecord;
    const actual = JSON.parse(self.body) as Record<string, unknown>;
    const expected = trimmed.body_json as Record<string, unknown>;
    for (const k of Object.keys(expected)) assert.ok(k in actual, `agent/self lacks ${k}`);
    await replay('01-server-start/agent-self.full.json');
  });

  test('02 after the server: the client joins on its next retry, then 200 everywhere', async () => {
    await agents.c1!.waitForLog(/Join cluster completed/, 10_000);
    await agents.c1!.waitForLog(/Synced service: service=activities-1/);
    for (const rel of files('02-client-before-server', /^after-server\./)) await replay(rel);
  });

  test('03 config-file services: sidecar expansion, checks critical', async () => {
    await until(
      'users check critical',
      async () => (await checkStatus('service:users-1')) === 'critical',
    );
    for (const rel of files('03-client-services', /^critical\./)) await replay(rel);
  });

  test('03 HTTP check passing once the app answers, critical again after it stops', async (t) => {
    app = createServer((req, res) => {
      res.end(req.url === '/health' ? 'ok\n' : '{}');
    });
    const listening = await new Promise<boolean>((resolve) => {
      app!.once('error', () => resolve(false));
      app!.listen(8080, '127.0.0.1', () => resolve(true));
    });
    if (!listening) {
      t.skip('127.0.0.1:8080 is in use on this host');
      return;
    }
    await until(
      'users check passing',
      async () => (await checkStatus('service:users-1')) === 'passing',
    );
    await until('health shows passing', async () => {
      const r = await httpCall('GET', `${C1}/v1/health/service/users?passing`);
      return (JSON.parse(r.body) as unknown[]).length === 1;
    });
    for (const rel of files('03-client-services', /^passing\./)) await replay(rel);
    await new Promise((r) => app!.close(r));
    app.closeAllConnections();
    await until(
      'users check critical again',
      async () => (await checkStatus('service:users-1')) === 'critical',
    );
    await until('health shows critical', async () => {
      const r = await httpCall('GET', `${C1}/v1/health/service/users?passing`);
      return (JSON.parse(r.body) as unknown[]).length === 0;
    });
    for (const rel of files('03-client-services', /^critical-again\./)) await replay(rel);
  });

  test('04 config entries over HTTP and the CLI, in recorded order', async () => {
    const stdin = readFileSync(join(ws.dir, 'configs/service-defaults-users.hcl'), 'utf8');
    for (const rel of files('04-config-entries', /^(cli|http)-/)) {
      await replay(rel, rel.includes('from-stdin') ? stdin : undefined);
    }
  });

  test('08 services register/deregister, consul leave', async () => {
    // 05 left an ingress gateway registered on cluster-1 (connect envoy -register): the same here.
    const gw = await httpCall(
      'PUT',
      `${C1}/v1/agent/service/register`,
      JSON.stringify({
        Kind: 'ingress-gateway',
        ID: 'ingress-service',
        Name: 'ingress-service',
        Address: '127.0.77.11',
        Port: 8888,
        TaggedAddresses: {
          lan: { Address: '127.0.77.11', Port: 8888 },
          lan_ipv4: { Address: '127.0.77.11', Port: 8888 },
          wan_ipv4: { Address: '127.0.77.11', Port: 8888 },
        },
        Check: {
          Name: 'ingress-gateway listening',
          TCP: '127.0.77.11:8888',
          Interval: '10s',
          DeregisterCriticalServiceAfter: '6h',
        },
      }),
    );
    assert.equal(gw.status, 200, gw.body);
    const c2 = start('c2', 'client-c2.json', { CONSUL_DOUBLE_RETRY_INTERVAL_MS: '300' });
    await c2.waitForLog(/Synced service: service=todos-1/);
    for (const rel of files('08-services-cli-and-leave', /^\d\d-/)) {
      await replay(rel);
      if (rel.includes('31-consul-leave-c2')) assert.equal(await c2.exited, 0);
    }
  });

  test('09 reload: success, parse errors as 500, services added and removed', async () => {
    const original = readFileSync(join(ws.dir, 'configs/client-c1.json'), 'utf8');
    const swap: Record<string, string> = {
      '07-': '09-reload/07-config-used.syntax-error.json',
      '08-': '09-reload/08-config-used.unknown-key.json',
      '09-': '09-reload/09-config-used.added-service.json',
    };
    for (const rel of files('09-reload', /^\d\d-/)) {
      const name = rel.split('/')[1] as string;
      const from = swap[name.slice(0, 3)];
      if (from)
        writeFileSync(
          join(ws.dir, 'configs/client-c1.json'),
          ws.adaptText(readFileSync(recordingPath(from), 'utf8')),
        );
      if (name.startsWith('11-')) writeFileSync(join(ws.dir, 'configs/client-c1.json'), original);
      await replay(rel);
    }
  });

  test('07 signals: client SIGTERM leaves (exit 0, Status 3); server SIGTERM exits 1', async () => {
    const c1 = agents.c1!;
    c1.kill('SIGTERM');
    assert.equal(await c1.exited, 0);
    for (const line of [
      'Caught: signal=terminated',
      'Gracefully shutting down agent...',
      'client starting leave',
      'Graceful exit completed',
      'Exit code: code=0',
    ]) {
      assert.ok(c1.stdout.includes(line), `client log lacks ${line}`);
    }
    const members = JSON.parse((await httpCall('GET', `${SERVER}/v1/agent/members`)).body) as {
      Name: string;
      Status: number;
    }[];
    assert.equal(members.find((m) => m.Name === 'cluster-1')?.Status, 3);
    const nodes = JSON.parse((await httpCall('GET', `${SERVER}/v1/catalog/nodes`)).body) as {
      Node: string;
    }[];
    assert.ok(
      !nodes.some((n) => n.Node === 'cluster-1'),
      'a left node is removed from the catalog',
    );
    const srv = agents.srv!;
    srv.kill('SIGTERM');
    assert.equal(await srv.exited, 1);
    for (const line of [
      'Caught: signal=terminated',
      'Graceful shutdown disabled. Exiting',
      'Exit code: code=1',
    ]) {
      assert.ok(srv.stdout.includes(line), `server log lacks ${line}`);
    }
  });

  test('07 start-up config errors and consul validate', async () => {
    for (const rel of files('07-signals-and-errors', /^(agent-config-error|consul-validate)\./)) {
      const rec = loadRecord(rel) as CliRecord;
      if (!rec.argv[0]?.endsWith('/consul')) continue; // unshare/setpriv runs need privileges
      if (rel.includes('http-port-in-use')) continue; // below, with a squatter
      if (rel.includes('agent-config-error')) {
        const p = new DoubleProcess(rec.argv.slice(1), ws.dir);
        const code = await p.exited;
        assert.equal(code, rec.exit_code, `${rel}: exit code`);
        assert.equal(ws.norm(p.stderr), ws.norm(rec.stderr), `${rel}: stderr`);
        const lastLines = (s: string): string[] =>
          ws
            .norm(s)
            .split('\n')
            .filter((l) =>
              /\[(ERROR)\]|^\s*(Version|Node name|Datacenter|Server|Client Addr|Cluster Addr):/.test(
                l,
              ),
            )
            .map((l) => l.replace(/^\S+Z /, ''));
        assert.deepEqual(lastLines(p.stdout), lastLines(rec.stdout), `${rel}: stdout`);
      } else {
        await replay(rel);
      }
    }
    const squatter = createServer();
    await new Promise<void>((r) => squatter.listen(8500, '127.0.77.12', r));
    try {
      const rel = '07-signals-and-errors/agent-config-error.http-port-in-use.json';
      const rec = loadRecord(rel) as CliRecord;
      const p = new DoubleProcess(rec.argv.slice(1), ws.dir);
      assert.equal(await p.exited, 1);
      assert.match(
        ws.norm(p.stdout),
        /\[ERROR\] agent: Error starting agent: error="listen tcp 10\.77\.0\.12:8500: bind: address already in use"/,
      );
      assert.equal(p.stderr, '');
    } finally {
      squatter.close();
    }
  });
});
