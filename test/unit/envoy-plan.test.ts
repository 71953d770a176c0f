import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EnvoyAdmin, planProxies, type ProxyPlanInput } from '../../src/envoy/index.ts';
import { acceptsTcp } from '../../src/net/index.ts';

const cluster1: ProxyPlanInput = {
  address: '10.0.1.11',
  httpPort: 8500,
  grpcPort: 8502,
  mode: 'envoy',
  envoyBinaryPath: '/usr/local/bin/envoy',
  adminPortBase: 19000,
  drainSeconds: 5,
  sidecars: [{ serviceId: 'users-1' }, { serviceId: 'activities-1' }],
  gateways: [],
};

test('each sidecar gets its own admin port and the agent addresses, never the default 19000 twice', () => {
  const plans = planProxies(cluster1);
  assert.deepEqual(
    plans.map((p) => [p.name, p.adminAddress]),
    [
      ['sidecar:users-1', '127.0.0.1:19000'],
      ['sidecar:activities-1', '127.0.0.1:19001'],
    ],
  );
  assert.deepEqual(plans[0]?.args, [
    'connect',
    'envoy',
    '-sidecar-for',
    'users-1',
    '-admin-bind',
    '127.0.0.1:19000',
    '-envoy-binary',
    '/usr/local/bin/envoy',
    '-http-addr',
    '10.0.1.11:8500',
    '-grpc-addr',
    '10.0.1.11:8502',
    '--',
    '--drain-time-s',
    '5',
  ]);
});

test('a re-plan keeps the admin ports the running proxies hold; a new proxy takes the lowest free one', () => {
  const first = planProxies(cluster1);
  const held = new Map(first.map((p) => [p.name, Number(p.adminAddress?.split(':')[1])]));
  // users-1 is removed, todos-1 added before activities-1: activities keeps 19001.
  held.delete('sidecar:users-1');
  const again = planProxies({
    ...cluster1,
    heldAdminPorts: held,
    sidecars: [{ serviceId: 'todos-1' }, { serviceId: 'activities-1' }, { serviceId: 'extra-1' }],
  });
  assert.deepEqual(
    again.map((p) => [p.name, p.adminAddress]),
    [
      ['sidecar:todos-1', '127.0.0.1:19000'],
      ['sidecar:activities-1', '127.0.0.1:19001'],
      ['sidecar:extra-1', '127.0.0.1:19002'],
    ],
  );
});

test('an ingress gateway registers itself at the node address and takes the next admin port', () => {
  const [gateway] = planProxies({
    ...cluster1,
    sidecars: [],
    gateways: [{ kind: 'ingress', name: 'ingress-service', port: 8888 }],
  });
  assert.equal(gateway?.name, 'gateway:ingress-service');
  assert.equal(gateway?.kind, 'gateway');
  assert.deepEqual(gateway?.args.slice(0, 8), [
    'connect',
    'envoy',
    '-gateway=ingress',
    '-register',
    '-service',
    'ingress-service',
    '-address',
    '10.0.1.11:8888',
  ]);
  assert.ok(gateway?.args.includes('127.0.0.1:19000'));
});

test('builtin mode runs `consul connect proxy` with no admin address; gateways still run Envoy', () => {
  const plans = planProxies({
    ...cluster1,
    mode: 'builtin',
    envoyBinaryPath: undefined,
    gateways: [{ kind: 'ingress', name: 'gw', port: 8888 }],
  });
  assert.deepEqual(plans[0]?.args, [
    'connect',
    'proxy',
    '-sidecar-for',
    'users-1',
    '-http-addr',
    '10.0.1.11:8500',
  ]);
  assert.equal(plans[0]?.adminAddress, null);
  assert.equal(plans[2]?.adminAddress, '127.0.0.1:19000');
  assert.ok(!plans[2]?.args.includes('-envoy-binary'));
});

test('EnvoyAdmin: LIVE only on 200 LIVE; drain and quit are POSTs', async (t) => {
  const calls: string[] = [];
  let state = 'PRE_INITIALIZING';
  const server = createServer((req, res) => {
    calls.push(`${req.method} ${req.url}`);
    if (req.url === '/ready') {
      res.writeHead(state === 'LIVE' ? 200 : 503).end(`${state}\n`);
    } else res.writeHead(req.method === 'POST' ? 200 : 400).end('OK\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const admin = new EnvoyAdmin(`127.0.0.1:${(server.address() as AddressInfo).port}`);
  assert.equal(await admin.isLive(), false);
  state = 'LIVE';
  assert.equal(await admin.isLive(), true);
  await admin.drainInbound();
  await admin.quit();
  assert.deepEqual(calls.slice(2), [
    'POST /drain_listeners?inboundonly&graceful',
    'POST /quitquitquit',
  ]);
  assert.equal(await new EnvoyAdmin('127.0.0.1:1').isLive(), false);
});

test('acceptsTcp tells a listening port from a closed one', async (t) => {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  assert.equal(await acceptsTcp('127.0.0.1', (server.address() as AddressInfo).port), true);
  assert.equal(await acceptsTcp('127.0.0.1', 1), false);
});
