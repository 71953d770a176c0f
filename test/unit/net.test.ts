// Address discovery without a network: explicit ip, option checks, and the interface poller over
// a scripted interface table (the real OS is covered in test/integration/net-interface.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NetworkInterfaceInfo } from 'node:os';
import { discoverAddress } from '../../src/net/index.ts';
import {
  describeInterfaces,
  interfaceAddress,
  ipv4AddressesOf,
  type InterfaceReader,
  type InterfaceTable,
} from '../../src/net/interface.ts';

function ipv4(address: string): NetworkInterfaceInfo {
  return {
    address,
    netmask: '255.255.255.0',
    family: 'IPv4',
    mac: '02:00:00:00:00:01',
    internal: address.startsWith('127.'),
    cidr: `${address}/24`,
  };
}

function ipv6(address: string): NetworkInterfaceInfo {
  return {
    address,
    netmask: 'ffff:ffff:ffff:ffff::',
    family: 'IPv6',
    mac: '02:00:00:00:00:01',
    internal: false,
    cidr: `${address}/64`,
    scopeid: 2,
  };
}

/** A reader that returns each table in turn (the last one forever), counting reads. */
function scripted(tables: InterfaceTable[], names: string[] = []) {
  let reads = 0;
  const reader: InterfaceReader = {
    addresses: () => tables[Math.min(reads++, tables.length - 1)] ?? {},
    names: () => names,
  };
  return { reader, reads: () => reads };
}

test('an explicit ip is returned as is, without discovery', async () => {
  const address = await discoverAddress({ interface: 'nope0', waitSeconds: 0, ip: '10.0.0.5' });
  assert.equal(address, '10.0.0.5');
});

test('an explicit ip that is not a usable IPv4 is a config error', async () => {
  for (const ip of ['10.0.0', '::1', 'eth0', '0.0.0.0', '10.0.0.256', '']) {
    await assert.rejects(discoverAddress({ interface: 'eth0', waitSeconds: 0, ip }), {
      name: 'AddressError',
      kind: 'config',
      message: `address.ip "${ip}" is not a usable IPv4 address`,
    });
  }
});

test('a negative or non-numeric waitSeconds is a config error', async () => {
  for (const waitSeconds of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
    await assert.rejects(discoverAddress({ interface: 'eth0', waitSeconds }), {
      kind: 'config',
      message: /^address\.waitSeconds must be a number of seconds >= 0/,
    });
  }
});

test('IPv4 addresses are split into routable and link-local; IPv6 is ignored', () => {
  const infos = [ipv6('fe80::1'), ipv4('169.254.3.4'), ipv4('10.1.2.3'), ipv4('10.1.2.4')];
  assert.deepEqual(ipv4AddressesOf(infos), {
    routable: ['10.1.2.3', '10.1.2.4'],
    linkLocal: ['169.254.3.4'],
  });
  assert.deepEqual(ipv4AddressesOf(undefined), { routable: [], linkLocal: [] });
});

test('the interface listing keeps the kernel order and adds interfaces without addresses', () => {
  const table = { lo: [ipv4('127.0.0.1')], eth1: [ipv4('10.0.0.3'), ipv4('10.0.0.4')] };
  assert.equal(
    describeInterfaces(table, ['dummy0', 'eth1', 'lo']),
    'lo (127.0.0.1), eth1 (10.0.0.3, 10.0.0.4), dummy0 (no IPv4)',
  );
  assert.equal(describeInterfaces({}, []), 'none');
});

test('the first routable IPv4 of the interface is returned at once', async () => {
  const { reader } = scripted([
    { eth0: [ipv6('fe80::1'), ipv4('169.254.3.4'), ipv4('10.0.0.7'), ipv4('10.0.0.8')] },
  ]);
  const waits: string[] = [];
  const address = await interfaceAddress('eth0', 5, { onWait: (m) => waits.push(m) }, reader);
  assert.equal(address, '10.0.0.7');
  assert.deepEqual(waits, []);
});

test('the interface is polled until its address appears', async () => {
  const { reader, reads } = scripted([
    {},
    { eth0: [ipv6('fe80::1')] },
    { eth0: [ipv4('10.0.0.7')] },
  ]);
  const waits: string[] = [];
  const address = await interfaceAddress('eth0', 10, { onWait: (m) => waits.push(m) }, reader);
  assert.equal(address, '10.0.0.7');
  assert.equal(reads(), 3);
  assert.deepEqual(waits, ['waiting up to 10 s for an IPv4 address on eth0']);
});

test('waitSeconds 0 looks once and fails at once', async () => {
  const { reader, reads } = scripted([{ lo: [ipv4('127.0.0.1')] }], ['eth0', 'lo']);
  await assert.rejects(interfaceAddress('eth0', 0, {}, reader), {
    name: 'AddressError',
    kind: 'unavailable',
    message:
      'interface "eth0" has no IPv4 address after 0 s; interfaces here: lo (127.0.0.1), eth0 (no IPv4)',
  });
  // One look for the address, one more for the error's listing.
  assert.equal(reads(), 2);
});

test('an abort ends the polling at once with the signal reason', async () => {
  const { reader } = scripted([{}]);
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error('stopping')), 100);
  const started = performance.now();
  await assert.rejects(interfaceAddress('eth0', 30, { signal: controller.signal }, reader), {
    message: 'stopping',
  });
  assert.ok(performance.now() - started < 1_000);
});
