// Secrets (the gossip key, the ACL token) reach only the rendered 0600 config file and the
// children's environment: never a log line, the status endpoint, metrics or any argv.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { TestHost } from '../helpers/netns.ts';
import { testbed, waitExit } from '../helpers/mesh-node.ts';

const GOSSIP_KEY = 'c2VjcmV0LWdvc3NpcC1rZXktMzItYnl0ZXMtbG9uZyE='; // base64 of 32 bytes
const ACL_TOKEN = '5e3c7a1d-0b7e-4c55-9d2f-secret-token-value';

function processFile(pid: number, file: 'cmdline' | 'environ'): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return ''; // exited meanwhile
  }
}

test('the gossip key and ACL token never reach logs, status, metrics or argv', async (t) => {
  const bed = await testbed(t, 1);
  const host = bed.hosts[0] as TestHost;
  const node = bed.start(host, {
    datacenter: 'dc1',
    role: 'server',
    consul: { server: { bootstrapExpect: 1 }, encrypt: GOSSIP_KEY, aclToken: ACL_TOKEN },
    services: [{ name: 'web', port: 8080, sidecar: {} }],
    proxy: { mode: 'builtin' },
    timeouts: { readySeconds: 60, stopSeconds: 10, drainSeconds: 1 },
  });
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
  const sidecar = ready.programs.find((p) => p.name === 'sidecar:web');
  assert.ok(sidecar?.pid);
  assert.match(processFile(sidecar.pid, 'environ'), new RegExp(`CONSUL_HTTP_TOKEN=${ACL_TOKEN}`));

  const configFile = join(bed.workDir, host.name, 'consul.d', 'meshvisor.json');
  assert.equal(statSync(configFile).mode & 0o777, 0o600);

  node.child.kill('SIGTERM');
  assert.deepEqual(await waitExit(node, 20_000), { code: 0, signal: null });
  const logs = JSON.stringify(node.logs);
  assert.ok(!logs.includes(GOSSIP_KEY), 'a log line holds the gossip key');
  assert.ok(!logs.includes(ACL_TOKEN), 'a log line holds the ACL token');
});
