// The test-host helper itself: connectivity between hosts and from the root namespace, a cleanup
// that leaves nothing behind (processes included), and the sweeper for leftovers of dead runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { once } from 'node:events';
import {
  addAddress,
  createTestNet,
  sweepStaleTestNets,
  type TestHost,
  type TestNet,
} from '../helpers/netns.ts';

const ECHO_PORT = 7070;
// Answers every connection with the address of the host it runs in, then closes it.
const ECHO_SERVER = `
const net = require('node:net');
const server = net.createServer((socket) => socket.end('hello from ' + socket.localAddress));
server.listen(${ECHO_PORT}, '0.0.0.0', () => console.log('listening'));
`;
const CLIENT = `
const socket = require('node:net').connect(${ECHO_PORT}, process.argv[1]);
let reply = '';
socket.on('data', (chunk) => (reply += chunk));
socket.on('end', () => console.log(reply));
socket.on('error', (error) => { console.error(error.message); process.exit(1); });
`;

function ipOut(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8' });
}

function namesLeft(stem: string): string[] {
  const namespaces = ipOut('netns', 'list').split('\n');
  const links = ipOut('-o', 'link', 'show').split('\n');
  return [...namespaces, ...links].filter((line) => line.includes(stem));
}

/** Gone, or a zombie nobody has reaped yet (pid 1 of a container may not reap). */
function isGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

async function firstLine(child: ChildProcess): Promise<string> {
  let out = '';
  for await (const chunk of child.stdout!) {
    out += String(chunk);
    if (out.includes('\n')) return out.split('\n')[0] ?? '';
  }
  throw new Error(`exited without output (exit ${child.exitCode})`);
}

async function startEchoServer(host: TestHost): Promise<ChildProcess> {
  const server = host.spawn(process.execPath, ['-e', ECHO_SERVER], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  assert.equal(await firstLine(server), 'listening');
  return server;
}

async function newNet(t: { after(fn: () => Promise<void>): void }, hostCount: number) {
  const net: TestNet = await createTestNet(hostCount);
  t.after(() => net.cleanup());
  return net;
}

test('hosts reach each other and the root namespace reaches every host', async (t) => {
  const net = await newNet(t, 2);
  const [server, client] = net.hosts as [TestHost, TestHost];
  assert.match(server.ip, /^10\.20[0-7]\.\d+\.10$/);
  assert.equal(client.ip, server.ip.replace(/\.10$/, '.11'));
  assert.equal(net.bridgeIp, server.ip.replace(/\.10$/, '.1'));

  await startEchoServer(server);

  const fromHost = client.spawn(process.execPath, ['-e', CLIENT, server.ip], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  assert.equal(await firstLine(fromHost), `hello from ${server.ip}`);

  const socket = connect(ECHO_PORT, server.ip);
  let reply = '';
  socket.on('data', (chunk) => (reply += String(chunk)));
  await once(socket, 'end');
  assert.equal(reply, `hello from ${server.ip}`);
});

test('a host created without an address gets it from addAddress', async (t) => {
  const net = await createTestNet(1, { withoutAddress: [0] });
  t.after(() => net.cleanup());
  const host = net.hosts[0]!;
  const addresses = () => ipOut('-n', host.name, '-4', '-o', 'addr', 'show', 'dev', 'eth0');
  assert.equal(addresses().trim(), '');
  await addAddress(host);
  assert.match(addresses(), new RegExp(` ${host.ip.replaceAll('.', '\\.')}/24 `));
});

test('cleanup kills a process tree inside and leaves no namespace or link', async (t) => {
  const net = await newNet(t, 2);
  const host = net.hosts[1]!;
  const stem = host.name.slice(0, -2);
  // A shell with two background children: a tree, not just one process.
  const tree = host.spawn('sh', ['-c', 'sleep 300 & sleep 300 & echo started; wait'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  assert.equal(await firstLine(tree), 'started');
  const pids = host.pids();
  assert.equal(pids.length, 3, `pids in ${host.name}: ${pids.join(', ')}`);
  assert.ok(pids.includes(tree.pid!));
  await startEchoServer(net.hosts[0]!);

  await net.cleanup();
  await net.cleanup(); // idempotent

  for (const pid of pids) assert.ok(isGone(pid), `pid ${pid} survived cleanup`);
  assert.deepEqual(host.pids(), []);
  assert.deepEqual(namesLeft(stem), []);
});

test('the sweeper removes namespaces and links of a process that no longer exists', async (t) => {
  // pid 4194305 is above Linux's pid_max, so it never exists: base 36 "2hlm9".
  const stem = `mvt${(4_194_305).toString(36).padStart(5, '0')}z`;
  const names = { netns: `${stem}h0`, bridge: `${stem}b` };
  t.after(() => {
    for (const args of [
      ['netns', 'delete', names.netns],
      ['link', 'delete', names.bridge],
    ]) {
      try {
        execFileSync('ip', args, { stdio: 'ignore' });
      } catch {
        // swept, as it should be
      }
    }
  });
  ipOut('netns', 'add', names.netns);
  ipOut('link', 'add', names.bridge, 'type', 'bridge');
  const sleeper = execFileSync(
    'sh',
    ['-c', `ip netns exec ${names.netns} sleep 300 >/dev/null 2>&1 & echo $!`],
    { encoding: 'utf8' },
  );
  const sleeperPid = Number.parseInt(sleeper, 10);

  await sweepStaleTestNets();

  assert.deepEqual(namesLeft(stem), []);
  const deadline = Date.now() + 5_000;
  while (!isGone(sleeperPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.ok(isGone(sleeperPid), 'the process inside the stale namespace was not killed');
});
