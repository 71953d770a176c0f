// The production security shape: ACLs with default deny, TLS with auto-encrypt, and gossip
// encryption, on the four nodes of the original setup. The tokens and policies are the ones
// docs/acl.md describes (config/acl/*.hcl), created with the management token as an operator
// would; every token reaches meshvisor through the environment, as ECS secrets do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { aclApi } from '../helpers/acl.ts';
import type { TestHost } from '../helpers/netns.ts';
import {
  catalogServices,
  httpFromUntil,
  memberStatus,
  testbed,
  waitExit,
} from '../helpers/mesh-node.ts';
import { processFile } from '../helpers/supervise.ts';
import { isDemoApp, meshSpecs, startApp } from '../helpers/mesh-specs.ts';
import { makeServerTls } from '../helpers/tls.ts';

const GOSSIP_KEY = 'c2VjcmV0LWdvc3NpcC1rZXktMzItYnl0ZXMtbG9uZyE=';
test('four nodes with ACLs (default deny), TLS and gossip encryption come up with every service in the catalog and every proxy holding its own token', async (t) => {
  const bed = await testbed(t, 4);
  const [serverHost, c1Host, c2Host, ingressHost] = bed.hosts as [
    TestHost,
    TestHost,
    TestHost,
    TestHost,
  ];
  startApp(c1Host, 'users', 8080, 'todos=1234');
  startApp(c2Host, 'todos', 8080);
  const tls = makeServerTls(bed.workDir, 'our_dc');
  const clientTls = { caFile: tls.caFile, verifyOutgoing: true, autoEncrypt: true };
  const specs = meshSpecs(serverHost, 'envoy');
  const management = randomUUID();
  const serverAgentToken = randomUUID();

  // The server bootstraps ACLs; its own calls (the datacenter's config entries) use the
  // management token; its agent token is created right after, as an operator would.
  const server = bed.start(
    serverHost,
    {
      ...specs.server,
      consul: {
        ...specs.server.consul,
        encrypt: '${CONSUL_GOSSIP_KEY}',
        tls: { ...tls, verifyOutgoing: true, autoEncrypt: true },
        acl: {
          tokens: {
            initialManagement: '${CONSUL_MANAGEMENT_TOKEN}',
            agent: '${CONSUL_AGENT_TOKEN}',
            meshvisor: '${CONSUL_MANAGEMENT_TOKEN}',
          },
        },
      },
    },
    {
      CONSUL_GOSSIP_KEY: GOSSIP_KEY,
      CONSUL_MANAGEMENT_TOKEN: management,
      CONSUL_AGENT_TOKEN: serverAgentToken,
    },
  );
  await server.waitReady(90_000);

  const acl = aclApi(serverHost, management);
  await acl.tokenFor('agent-server', 'agent.hcl', { NODE_NAME: serverHost.name }, serverAgentToken);

  /** The environment a client node gets: its agent and meshvisor tokens, and the gossip key. */
  const clientEnv = async (host: TestHost, meshvisorPolicy: string) => {
    const node = { NODE_NAME: host.name };
    return {
      CONSUL_GOSSIP_KEY: GOSSIP_KEY,
      CONSUL_AGENT_TOKEN: await acl.tokenFor(`agent-${host.name}`, 'agent.hcl', node),
      MESHVISOR_TOKEN: await acl.tokenFor(`meshvisor-${host.name}`, meshvisorPolicy, node),
    };
  };
  const securedConsul = (consul: Record<string, unknown>) => ({
    ...consul,
    encrypt: '${CONSUL_GOSSIP_KEY}',
    tls: clientTls,
    acl: { tokens: { agent: '${CONSUL_AGENT_TOKEN}', meshvisor: '${MESHVISOR_TOKEN}' } },
  });
  const withTokens = (services: { name: string }[]) =>
    services.map((s) => ({ ...s, token: `\${${s.name.toUpperCase()}_TOKEN}` }));

  const serviceTokens: Record<string, string> = {};
  for (const name of ['users', 'activities', 'todos', 'notifications']) {
    serviceTokens[`${name.toUpperCase()}_TOKEN`] = await acl.token({ service: name });
  }
  const gatewayToken = await acl.tokenFor('gateway-ingress-service', 'gateway.hcl', {
    GATEWAY_NAME: 'ingress-service',
  });

  // Each task gets only its own secrets, as ECS task definitions give them.
  const only = (...names: string[]) =>
    Object.fromEntries(names.map((name) => [name, serviceTokens[name]!]));
  const envs = {
    c1: {
      ...(await clientEnv(c1Host, 'meshvisor-client.hcl')),
      ...only('USERS_TOKEN', 'ACTIVITIES_TOKEN'),
    },
    c2: {
      ...(await clientEnv(c2Host, 'meshvisor-client.hcl')),
      ...only('TODOS_TOKEN', 'NOTIFICATIONS_TOKEN'),
    },
    ingress: {
      ...(await clientEnv(ingressHost, 'meshvisor-ingress.hcl')),
      GATEWAY_TOKEN: gatewayToken,
    },
  };
  const c1 = bed.start(
    c1Host,
    {
      ...specs.cluster1,
      consul: securedConsul(specs.cluster1.consul),
      services: withTokens(specs.cluster1.services as { name: string }[]),
    },
    envs.c1,
  );
  const c2 = bed.start(
    c2Host,
    {
      ...specs.cluster2,
      consul: securedConsul(specs.cluster2.consul),
      services: withTokens(specs.cluster2.services as { name: string }[]),
    },
    envs.c2,
  );
  // The ingress node writes its ingress-gateway entry: that takes operator = "write" (meshvisor-ingress.hcl).
  const ingress = bed.start(
    ingressHost,
    {
      ...specs.ingress,
      consul: securedConsul(specs.ingress.consul),
      gateways: specs.ingress.gateways.map((g) => ({ ...g, token: '${GATEWAY_TOKEN}' })),
    },
    envs.ingress,
  );

  const nodes = [c1, c2, ingress];
  const ready = await Promise.all(nodes.map((node) => node.waitReady(120_000)));

  // Every service and sidecar reached the catalog with its own token (READY says so; the
  // servers' view, read with the management token, agrees).
  const catalogAs = async (host: TestHost) => {
    const res = await fetch(`http://${serverHost.ip}:8500/v1/catalog/node/${host.name}`, {
      headers: { 'X-Consul-Token': management },
    });
    const body = (await res.json()) as { Services: Record<string, unknown> } | null;
    return body ? Object.keys(body.Services).sort() : null;
  };
  assert.deepEqual(await catalogAs(c1Host), [
    'activities-1',
    'activities-1-sidecar-proxy',
    'users-1',
    'users-1-sidecar-proxy',
  ]);
  assert.deepEqual(await catalogAs(c2Host), [
    'notifications-1',
    'notifications-1-sidecar-proxy',
    'todos-1',
    'todos-1-sidecar-proxy',
  ]);
  assert.deepEqual(await catalogAs(ingressHost), ['ingress-service']);
  // Without a token the catalog is filtered (default deny), not an error.
  assert.deepEqual(await catalogServices(serverHost, c1Host.name), null);

  // Each proxy holds exactly its own token as CONSUL_HTTP_TOKEN; nothing else in any child's
  // environment or argv holds a secret (the variables that fed them are not inherited).
  const secrets = [
    management,
    serverAgentToken,
    ...Object.values(envs).flatMap((env) => Object.values(env)),
  ];
  const ownToken: Record<string, string> = {
    'sidecar:users-1': serviceTokens.USERS_TOKEN!,
    'sidecar:activities-1': serviceTokens.ACTIVITIES_TOKEN!,
    'sidecar:todos-1': serviceTokens.TODOS_TOKEN!,
    'sidecar:notifications-1': serviceTokens.NOTIFICATIONS_TOKEN!,
    'gateway:ingress-service': gatewayToken,
  };
  for (const [i, node] of nodes.entries()) {
    for (const program of ready[i]!.programs) {
      assert.ok(program.pid, `${program.name} runs`);
      const lines = processFile(program.pid, 'environ').split('\n');
      const token = lines.find((l) => l.startsWith('CONSUL_HTTP_TOKEN='));
      const own = ownToken[program.name];
      assert.equal(token, own && `CONSUL_HTTP_TOKEN=${own}`, `${program.name}'s token`);
      const others = lines.filter((l) => l !== token);
      assert.ok(
        !others.some((l) => secrets.some((secret) => l.includes(secret))),
        `${program.name}'s environment holds a secret`,
      );
    }
    for (const pid of node.host.pids()) {
      const argv = processFile(pid, 'cmdline');
      assert.ok(!secrets.some((s) => argv.includes(s)), `argv of ${pid}: ${argv}`);
    }
  }

  // users -> todos through both sidecars under default deny: the server's intention allows it.
  await httpFromUntil(
    c1Host,
    'http://127.0.0.1:8080/call/todos',
    (r) => r.status === 200 && (r.body ?? '').includes('"service":"todos"'),
    30_000,
    'users -> todos with ACLs',
  );

  // The ordered stop still works with ACLs: every client leaves.
  for (const node of [...nodes, server]) {
    node.child.kill('SIGTERM');
    assert.deepEqual(await waitExit(node, 40_000), { code: 0, signal: null });
  }
  for (const host of [c1Host, c2Host, ingressHost]) {
    assert.deepEqual(
      host.pids().filter((pid) => !isDemoApp(pid)),
      [],
    );
  }
  const logs = JSON.stringify([...nodes, server].map((n) => n.logs));
  for (const secret of secrets) assert.ok(!logs.includes(secret), 'a log line holds a secret');
});

test('a token without the right to write a config entry: exit 78 naming the permission, and the client leaves', async (t) => {
  const bed = await testbed(t, 2);
  const [serverHost, clientHost] = bed.hosts as [TestHost, TestHost];
  const management = randomUUID();
  const server = bed.start(
    serverHost,
    {
      datacenter: 'our_dc',
      role: 'server',
      consul: {
        server: { bootstrapExpect: 1 },
        acl: { tokens: { initialManagement: '${MGMT}', agent: '${MGMT}' } },
      },
      timeouts: { readySeconds: 90, stopSeconds: 10, drainSeconds: 0 },
    },
    { MGMT: management },
  );
  await server.waitReady(90_000);
  const acl = aclApi(serverHost, management);
  const node = { NODE_NAME: clientHost.name };
  const env = {
    AGENT: await acl.tokenFor('agent', 'agent.hcl', node),
    // meshvisor-client.hcl grants no proxy-defaults write: that takes operator = "write".
    MESHVISOR: await acl.tokenFor('meshvisor', 'meshvisor-client.hcl', node),
  };
  const client = bed.start(
    clientHost,
    {
      datacenter: 'our_dc',
      role: 'client',
      consul: {
        retryJoin: [serverHost.ip],
        acl: { tokens: { agent: '${AGENT}', meshvisor: '${MESHVISOR}' } },
      },
      configEntries: [{ Kind: 'proxy-defaults', Name: 'global', Config: { protocol: 'http' } }],
      timeouts: { readySeconds: 90, stopSeconds: 10, drainSeconds: 0 },
    },
    env,
  );
  const exit = await waitExit(client, 60_000);
  assert.deepEqual(exit, { code: 78, signal: null });
  const failure = String(client.logs.find((l) => l.msg === 'node failed')?.err);
  assert.match(
    failure,
    // Consul 1.14 names the missing permission after "Permission denied" (mesh:write).
    /^config-entries: proxy-defaults\/global denied by Consul's ACLs: Permission denied(: [^;]*)?; the meshvisor token .* needs operator = "write"/,
  );
  assert.deepEqual(clientHost.pids(), [], 'nothing left running');
  assert.equal(await memberStatus(serverHost, clientHost.name, management), 3, 'the client left');
  server.child.kill('SIGTERM');
  assert.deepEqual(await waitExit(server, 30_000), { code: 0, signal: null });
});
