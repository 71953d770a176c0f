// The node's plan and what a reload changes: pure functions of two specs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffPlans, planNode, refusedChanges } from '../../src/node/plan.ts';
import { parseSpec, type NodeSpecInput } from '../../src/spec/index.ts';

const base: NodeSpecInput = {
  datacenter: 'dc1',
  role: 'client',
  nodeName: 'c1',
  consul: { retryJoin: ['10.0.0.1'], configDir: '/cfg', dataDir: '/data' },
  services: [
    { name: 'users', id: 'users-1', port: 8080, protocol: 'http', sidecar: {} },
    { name: 'activities', id: 'activities-1', port: 8081, sidecar: {} },
  ],
};
const spec = (change: Partial<NodeSpecInput> = {}) => parseSpec({ ...base, ...change });
const plan = (change: Partial<NodeSpecInput> = {}, held?: Map<string, number>) =>
  planNode(spec(change), '10.0.0.5', {
    envoy: { path: '/bin/envoy', version: '1.20.2', pair: { needs: 'nothing' } },
    heldAdminPorts: held,
  });

test('the plan: services with sidecars, the stages READY requires, a short hash of the spec', () => {
  const p = plan();
  assert.deepEqual(p.serviceIds, [
    'users-1',
    'users-1-sidecar-proxy',
    'activities-1',
    'activities-1-sidecar-proxy',
  ]);
  assert.deepEqual(p.requiredStages, [
    'address',
    'http-up',
    'leader-known',
    'services-registered',
    'node-synced',
    'config-entries',
    'proxies-ready',
  ]);
  assert.match(p.hash, /^[0-9a-f]{12}$/);
  assert.equal(plan().hash, p.hash);
  assert.notEqual(plan({ nodeName: 'c2' }).hash, p.hash);
});

test('fields that need a restart are refused by path; services, gateways, entries and timeouts are live', () => {
  assert.deepEqual(refusedChanges(spec(), spec({ datacenter: 'dc2', nodeName: 'c9' })), [
    'datacenter',
    'nodeName',
  ]);
  assert.deepEqual(
    refusedChanges(spec(), spec({ consul: { ...base.consul, ports: { http: 8501 } } })),
    ['consul.ports.http'],
  );
  assert.deepEqual(refusedChanges(spec(), spec({ status: { listen: '127.0.0.1:9999' } })), [
    'status.listen',
  ]);
  const live = spec({
    services: [{ name: 'todos', port: 9090 }],
    configEntries: [{ Kind: 'service-defaults', Name: 'x', Protocol: 'http' }],
    timeouts: { readySeconds: 30 },
  });
  assert.deepEqual(refusedChanges(spec(), live), []);
});

test('the diff: a removed sidecar stops, a new one starts on a free admin port, unchanged ones stay', () => {
  const current = plan();
  const held = new Map(current.proxies.map((p) => [p.name, Number(p.adminAddress?.split(':')[1])]));
  const next = plan(
    {
      services: [
        base.services![0]!,
        { name: 'todos', id: 'todos-1', port: 8082, protocol: 'http2', sidecar: {} },
      ],
    },
    held,
  );
  const changes = diffPlans(current, next);
  assert.deepEqual(
    changes.stopProxies.map((p) => p.name),
    ['sidecar:activities-1'],
  );
  assert.deepEqual(
    changes.startProxies.map((p) => [p.name, p.adminAddress]),
    // Not 19001: the removed sidecar still holds it while it drains.
    [['sidecar:todos-1', '127.0.0.1:19002']],
  );
  assert.deepEqual(changes.removedServices, ['activities-1']);
  assert.deepEqual(
    changes.entries.map((e) => `${e.Kind}/${e.Name}`),
    ['service-defaults/todos'],
  );
  assert.equal(changes.agentConfig, true);
  // Nothing changed: nothing to do.
  const same = diffPlans(current, plan({}, held));
  assert.deepEqual(same.startProxies, []);
  assert.deepEqual(same.stopProxies, []);
  assert.deepEqual(same.entries, []);
  assert.equal(same.agentConfig, false);
});
