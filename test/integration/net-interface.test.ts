// Real interface discovery inside network namespaces whose eth0 is a veth: with an address, one
// that arrives late, none, only link-local; and an interface that does not exist.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { AddressOptions } from '../../src/net/index.ts';
import { addAddress, createTestNet, type TestHost } from '../helpers/netns.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const DISCOVER = fileURLToPath(new URL('../fixtures/net/discover.ts', import.meta.url));

interface DiscoverOutput {
  address?: string;
  error?: string;
  kind?: string;
  waits: string[];
  elapsedMs: number;
}

/** Runs the discovery fixture inside the host's namespace; resolves with its final JSON line. */
function discoverIn(
  host: TestHost,
  options: Partial<AddressOptions>,
  onWait?: () => void,
): Promise<DiscoverOutput> {
  const opts = { interface: 'eth0', waitSeconds: 10, ...options };
  const child = host.spawn(process.execPath, ['--import', 'tsx', DISCOVER, JSON.stringify(opts)], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => {
    stdout += String(chunk);
    if (onWait && stdout.includes('"wait"')) {
      onWait();
      onWait = undefined;
    }
  });
  child.stderr!.on('data', (chunk) => (stderr += String(chunk)));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const lines = stdout.trim().split('\n');
      if (code === 0) resolve(JSON.parse(lines[lines.length - 1] ?? '') as DiscoverOutput);
      else reject(new Error(`discovery fixture exited ${code}: ${stderr}`));
    });
  });
}

test('interface: the IPv4 of eth0 in a namespace', async (t) => {
  const net = await createTestNet(1);
  t.after(() => net.cleanup());
  const result = await discoverIn(net.hosts[0]!, {});
  assert.equal(result.address, net.hosts[0]!.ip);
  assert.deepEqual(result.waits, []);
});

test('interface: an eth0 that gets its address after 1 s is found by polling', async (t) => {
  const net = await createTestNet(1, { withoutAddress: [0] });
  t.after(() => net.cleanup());
  const host = net.hosts[0]!;
  let added: Promise<void> | undefined;
  // 1 s after discovery reports that it is waiting (node + tsx take a while to start).
  const result = await discoverIn(host, { waitSeconds: 20 }, () => {
    added = new Promise((resolve) => setTimeout(resolve, 1_000)).then(() => addAddress(host));
  });
  await added;
  assert.equal(result.address, host.ip);
  assert.deepEqual(result.waits, ['waiting up to 20 s for an IPv4 address on eth0']);
  // Polled every 200 ms: found soon after it appeared (generous bound for a busy machine).
  assert.ok(result.elapsedMs >= 1_000 && result.elapsedMs < 6_000, `took ${result.elapsedMs} ms`);
});

test('interface: an eth0 that never gets an address fails listing the interfaces', async (t) => {
  const net = await createTestNet(1, { withoutAddress: [0] });
  t.after(() => net.cleanup());
  const result = await discoverIn(net.hosts[0]!, { waitSeconds: 1 });
  assert.equal(result.kind, 'unavailable');
  assert.equal(
    result.error,
    'interface "eth0" has no IPv4 address after 1 s; ' +
      'interfaces here: lo (127.0.0.1), eth0 (no IPv4)',
  );
  assert.ok(result.elapsedMs >= 1_000 && result.elapsedMs < 5_000, `${result.elapsedMs} ms`);
});

test('interface: a missing interface is named, with the ones that exist', async (t) => {
  const net = await createTestNet(1);
  t.after(() => net.cleanup());
  const host = net.hosts[0]!;
  const result = await discoverIn(host, { interface: 'eth1', waitSeconds: 0.5 });
  assert.equal(
    result.error,
    'no interface "eth1" after 0.5 s (set address.interface to one that exists, or ' +
      `address.ip); interfaces here: lo (127.0.0.1), eth0 (${host.ip})`,
  );
});

test('interface: link-local is skipped, and named when it is all there is', async (t) => {
  const net = await createTestNet(2, { withoutAddress: [0, 1] });
  t.after(() => net.cleanup());
  const [onlyLinkLocal, both] = net.hosts as [TestHost, TestHost];
  for (const host of net.hosts) {
    execFileSync('ip', ['-n', host.name, 'addr', 'add', '169.254.7.7/16', 'dev', 'eth0']);
  }

  const failed = await discoverIn(onlyLinkLocal, { waitSeconds: 0.5 });
  assert.match(
    failed.error ?? '',
    /^interface "eth0" has only the link-local address 169\.254\.7\.7/,
  );
  assert.match(failed.error ?? '', /set address\.ip to use it anyway/);

  // The link-local address came first; the routable one added later still wins.
  await addAddress(both);
  const found = await discoverIn(both, { waitSeconds: 2 });
  assert.equal(found.address, both.ip);
});
