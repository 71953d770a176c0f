// Secrets (the gossip key, the ACL tokens) reach only the rendered 0600 config file and, for a
// proxy, its own token as CONSUL_HTTP_TOKEN: never a log line, the status endpoint, metrics, any
// argv, or the environment of a child (the variables that fed them are not inherited).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { TestHost } from '../helpers/netns.ts';
import { testbed, waitExit } from '../helpers/mesh-node.ts';
import { processFile } from '../helpers/supervise.ts';

const GOSSIP_KEY = 'c2VjcmV0LWdvc3NpcC1rZXktMzItYnl0ZXMtbG9uZyE='; // base64 of 32 bytes
const ACL_TOKEN = '5e3c7a1d-0b7e-4c55-9d2f-secret-token-value';

test('the gossip key and ACL tokens never reach logs, status, metrics, argv or a child environment', async (t) => {
  const bed = await testbed(t, 1);
  const host = bed.hosts[0] as TestHost;
  const node = bed.start(
    host,
    {
      datacenter: 'dc1',
      role: 'server',
      consul: {
        server: { bootstrapExpect: 1 },
        encrypt: '${CONSUL_GOSSIP_KEY}',
        acl: {
          tokens: { initialManagement: '${CONSUL_MGMT_TOKEN}', agent: '${CONSUL_MGMT_TOKEN}' },
        },
      },
      services: [{ name: 'web', port: 8080, sidecar: {}, token: '${WEB_TOKEN}' }],
      proxy: { mode: 'builtin' },
      timeouts: { readySeconds: 60, stopSeconds: 10, drainSeconds: 1 },
    },
    // A token some tool left in the environment must not reach the children either.
    {
      CONSUL_GOSSIP_KEY: GOSSIP_KEY,
      CONSUL_MGMT_TOKEN: ACL_TOKEN,
      WEB_TOKEN: ACL_TOKEN,
      CONSUL_HTTP_TOKEN: 'a-token-meshvisor-was-not-given',
    },
  );
  const ready = await node.waitReady(60_000);

  const status = await (await fetch(`http://${host.ip}:9555/status`)).text();
  const metrics = await (await fetch(`http://${host.ip}:9555/metrics`)).text();
  const served: [string, string][] = [
    ['/status', status],
    ['/metrics', metrics],
  ];
  for (const [what, text] of served) {
    assert.ok(!text.includes(GOSSIP_KEY) && !text.includes(ACL_TOKEN), `${what} holds a secret`);
  }

  for (const pid of host.pids()) {
    const argv = processFile(pid, 'cmdline');
    assert.ok(!argv.includes(ACL_TOKEN) && !argv.includes(GOSSIP_KEY), `argv of ${pid}: ${argv}`);
  }
  // Every child's environment: no variable that fed a secret; a proxy gets its own token only.
  const sidecar = ready.programs.find((p) => p.name === 'sidecar:web');
  assert.ok(sidecar?.pid);
  for (const pid of host.pids().filter((pid) => pid !== node.child.pid)) {
    const environ = processFile(pid, 'environ');
    assert.ok(!environ.includes(GOSSIP_KEY), `the environment of ${pid} holds the gossip key`);
    assert.ok(!/CONSUL_GOSSIP_KEY|CONSUL_MGMT_TOKEN|WEB_TOKEN/.test(environ), `environ of ${pid}`);
    assert.ok(!environ.includes('a-token-meshvisor-was-not-given'), `environ of ${pid}`);
    if (pid === sidecar.pid) {
      assert.match(environ, new RegExp(`CONSUL_HTTP_TOKEN=${ACL_TOKEN}`));
    } else {
      assert.ok(!environ.includes(ACL_TOKEN), `the environment of ${pid} holds a token`);
    }
  }

  const configFile = join(bed.workDir, host.name, 'consul.d', 'meshvisor.json');
  assert.equal(statSync(configFile).mode & 0o777, 0o600);

  node.child.kill('SIGTERM');
  assert.deepEqual(await waitExit(node, 20_000), { code: 0, signal: null });
  const logs = JSON.stringify(node.logs);
  assert.ok(!logs.includes(GOSSIP_KEY), 'a log line holds the gossip key');
  assert.ok(!logs.includes(ACL_TOKEN), 'a log line holds the ACL token');
});
