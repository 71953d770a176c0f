import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  EnvoyAdmin,
  envoyPair,
  parseEnvoyVersion,
  planProxies,
  type ProxyPlanInput,
} from '../../src/envoy/index.ts';
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
    // Consul 1.10 leaves it out once --drain-time-s is passed, and a second Envoy would exit.
    '--disable-hot-restart',
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
  // A sidecar serves once its public listener is there and drains inbound only; a gateway's
  // listeners are named by port, and Consul 1.10 marks an ingress gateway's OUTBOUND: all drain.
  assert.deepEqual(
    plans.map((p) => [p.name, p.readyListenerPrefix, p.drainScope]),
    [
      ['sidecar:users-1', 'public_listener:', 'inbound'],
      ['sidecar:activities-1', 'public_listener:', 'inbound'],
      ['gateway:gw', '', 'all'],
    ],
  );
  assert.ok(!plans[2]?.args.includes('-envoy-binary'));
});

test('EnvoyAdmin: serving only on 200 LIVE with the listener there and none rejected; drain and quit are POSTs', async (t) => {
  const calls: string[] = [];
  let state = 'PRE_INITIALIZING';
  let listeners = '';
  let dynamicListeners: unknown = { configs: [] };
  const server = createServer((req, res) => {
    calls.push(`${req.method} ${req.url}`);
    if (req.url === '/ready') {
      res.writeHead(state === 'LIVE' ? 200 : 503).end(`${state}\n`);
    } else if (req.url === '/listeners') {
      res.writeHead(200).end(listeners);
    } else if (req.url === '/config_dump?resource=dynamic_listeners') {
      res.writeHead(200).end(JSON.stringify(dynamicListeners));
    } else res.writeHead(req.method === 'POST' ? 200 : 405).end('OK\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const admin = new EnvoyAdmin(`127.0.0.1:${(server.address() as AddressInfo).port}`);
  assert.equal(await admin.isServing('public_listener:'), false);
  state = 'LIVE';
  assert.equal(await admin.isServing('public_listener:'), false);
  listeners = 'api:127.0.0.1:1234::127.0.0.1:1234\n';
  assert.equal(await admin.isServing('public_listener:'), false);
  assert.equal(await admin.isServing(''), true);
  listeners += 'public_listener:0.0.0.0:21000::0.0.0.0:21000\n';
  assert.equal(await admin.isServing('public_listener:'), true);

  // Envoy 1.36.4 with Consul 1.10's name-only router: LIVE, no public listener, and the config
  // dump's error_state says why (the second entry, as recorded, has only the failed config's name).
  listeners = 'api:127.0.0.1:1234::127.0.0.1:1234\n';
  const details =
    "Didn't find a registered implementation for 'envoy.filters.http.router' with type URL: ''";
  dynamicListeners = {
    configs: [
      { error_state: { details, failed_configuration: { name: 'public_listener:0.0.0.0:21000' } } },
    ],
  };
  await assert.rejects(admin.isServing('public_listener:'), {
    name: 'ListenerRejectedError',
    message: `Envoy rejected listener public_listener:0.0.0.0:21000: ${details}`,
  });

  calls.length = 0;
  await admin.drain('inbound', { graceful: true });
  await admin.drain('inbound', { graceful: false });
  await admin.drain('all', { graceful: true });
  await admin.drain('all', { graceful: false });
  await admin.quit();
  assert.deepEqual(calls, [
    'POST /drain_listeners?inboundonly&graceful',
    'POST /drain_listeners?inboundonly',
    'POST /drain_listeners?graceful',
    'POST /drain_listeners',
    'POST /quitquitquit',
  ]);
  assert.equal(await new EnvoyAdmin('127.0.0.1:1').isServing(''), false);
});

test('acceptsTcp tells a listening port from a closed one', async (t) => {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  assert.equal(await acceptsTcp('127.0.0.1', (server.address() as AddressInfo).port), true);
  assert.equal(await acceptsTcp('127.0.0.1', 1), false);
});

test('Consul before 1.12 with Envoy 1.22-1.38 runs Envoy with the name-lookup guard off; 1.39 cannot serve it', () => {
  assert.deepEqual(envoyPair('1.10', '1.20.2'), { needs: 'nothing' });
  const override = envoyPair('1.10', '1.36.4');
  assert.equal(override.needs, 'name-lookup');
  assert.deepEqual(JSON.parse(override.needs === 'name-lookup' ? override.configYaml : '{}'), {
    layered_runtime: {
      layers: [
        {
          name: 'meshvisor-name-lookup',
          static_layer: { 'envoy.reloadable_features.no_extension_lookup_by_name': false },
        },
      ],
    },
  });
  // Unknown: the layer is harmless to an Envoy that does not need it.
  assert.equal(envoyPair('1.11', null).needs, 'name-lookup');
  const refused = envoyPair('1.10', '1.39.0');
  assert.equal(refused.needs, 'another-envoy');
  assert.match(
    refused.needs === 'another-envoy' ? refused.problem : '',
    /^Consul 1\.10 \(consul\.version\) sends Envoy's HTTP router by name only, which Envoy 1\.39 rejects/,
  );
  assert.deepEqual(envoyPair('1.12', '1.39.0'), { needs: 'nothing' });
  assert.equal(
    parseEnvoyVersion('envoy  version: bad8280de8/1.36.4/Clean/RELEASE/BoringSSL'),
    '1.36.4',
  );
  assert.equal(parseEnvoyVersion('not envoy'), null);
});

const INPUT_FOR_CONFIG_YAML = {
  address: '10.0.0.5',
  httpPort: 8500,
  grpcPort: 8502,
  mode: 'envoy' as const,
  envoyBinaryPath: '/usr/local/bin/envoy',
  adminPortBase: 19000,
  drainSeconds: 5,
  sidecars: [{ serviceId: 'users-1' }],
  gateways: [{ kind: 'ingress' as const, name: 'ingress-service', port: 8888 }],
};

test("every Envoy gets the pair's runtime layer as --config-yaml, after the drain time", () => {
  const [sidecar, gateway] = planProxies({
    ...INPUT_FOR_CONFIG_YAML,
    envoyConfigYaml: '{"layered_runtime":{}}',
  });
  for (const proxy of [sidecar, gateway]) {
    assert.deepEqual(proxy?.args.slice(-4), [
      '--drain-time-s',
      '5',
      '--config-yaml',
      '{"layered_runtime":{}}',
    ]);
  }
});
