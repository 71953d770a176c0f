// deploy/ecs/taskdef-*.json: checked against a zod schema of the ECS task-definition fields they
// use (a typo in a field name fails here, not at RegisterTaskDefinition), plus the invariants a
// mesh node needs on ECS: host networking, an init process, a HEALTHCHECK running
// `meshvisor status --ready`, a stop timeout longer than the spec's ordered stop (and within
// ECS's 120 s), secrets only through `secrets`, awslogs, and the embedded spec
// (MESHVISOR_CONFIG_JSON) equal to deploy/ecs/specs/<node>.yaml and valid for loadSpec with the
// environment the task gives it. The production shape (docs/ecs.md, docs/acl.md): gossip
// encryption, TLS with auto-encrypt, ACLs with default deny on all four nodes, and every ACL
// token a `${VAR}` of the spec that ECS fills from `secrets`, each its own secret.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { z } from 'zod';
import { apiToken, gatewayToken, loadSpec, serviceToken } from '../../src/spec/index.ts';

const ROOT = new URL('../../', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, ROOT), 'utf8');

const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const ARN = /^arn:aws:(ssm|secretsmanager):[a-z0-9-]+:\d{12}:(parameter\/|secret:)\S+$/;
const ECS_MAX_STOP_TIMEOUT = 120;

const KeyValue = z.strictObject({
  name: z.string().regex(/^[A-Z_][A-Z0-9_]*$/),
  value: z.string(),
});
const Secret = z.strictObject({
  name: z.string().regex(/^[A-Z_][A-Z0-9_]*$/),
  valueFrom: z.string().regex(ARN),
});
const HealthCheck = z.strictObject({
  command: z.tuple([z.literal('CMD')], z.string()),
  interval: z.number().int().min(5).max(300),
  timeout: z.number().int().min(2).max(60),
  retries: z.number().int().min(1).max(10),
  startPeriod: z.number().int().min(0).max(300),
});
const Container = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_-]{1,255}$/),
  image: z.string().regex(/^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com\/[a-z0-9-]+:[\w.-]+$/),
  essential: z.boolean(),
  cpu: z.number().int().positive(),
  memory: z.number().int().positive(),
  user: z.string().optional(),
  linuxParameters: z.strictObject({ initProcessEnabled: z.boolean() }).optional(),
  environment: z.array(KeyValue),
  secrets: z.array(Secret).optional(),
  mountPoints: z
    .array(
      z.strictObject({
        sourceVolume: z.string(),
        containerPath: z.string(),
        readOnly: z.boolean(),
      }),
    )
    .optional(),
  dependsOn: z
    .array(
      z.strictObject({
        containerName: z.string(),
        condition: z.enum(['START', 'COMPLETE', 'SUCCESS', 'HEALTHY']),
      }),
    )
    .optional(),
  healthCheck: HealthCheck,
  stopTimeout: z.number().int().min(1).max(ECS_MAX_STOP_TIMEOUT),
  logConfiguration: z.strictObject({
    logDriver: z.literal('awslogs'),
    options: z.strictObject({
      'awslogs-group': z.string().startsWith('/'),
      'awslogs-region': z.string().regex(REGION),
      'awslogs-stream-prefix': z.string().min(1),
      'awslogs-create-group': z.literal('true'),
    }),
  }),
});
const TaskDefinition = z.strictObject({
  family: z.string().regex(/^meshvisor-[a-z0-9-]+$/),
  networkMode: z.literal('host'),
  requiresCompatibilities: z.tuple([z.literal('EC2')]),
  executionRoleArn: z.string().startsWith('arn:aws:iam::'),
  taskRoleArn: z.string().startsWith('arn:aws:iam::'),
  containerDefinitions: z.array(Container).min(1),
  volumes: z.array(
    z.strictObject({
      name: z.string(),
      host: z.strictObject({ sourcePath: z.string().startsWith('/') }),
    }),
  ),
});
type TaskDef = z.infer<typeof TaskDefinition>;
type ContainerDef = z.infer<typeof Container>;

/** Variables named like secrets must come from `secrets`, never from plain `environment`. */
const SECRET_NAME = /KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL/i;
/** A gossip key (base64 of 32 bytes) or anything token-shaped must not appear as a literal. */
const SECRET_VALUE =
  /^[A-Za-z0-9+/]{43}=$|^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const nodes = readdirSync(new URL('deploy/ecs/', ROOT))
  .map((f) => /^taskdef-(.+)\.json$/.exec(f)?.[1])
  .filter((n): n is string => n !== undefined)
  .sort();

const meshvisorOf = (td: TaskDef): ContainerDef => {
  const c = td.containerDefinitions.find((x) => x.name === 'meshvisor');
  assert.ok(c, `${td.family}: no container named meshvisor`);
  return c;
};

/** The environment the container gets: plain variables, and a distinct stand-in per secret. */
function taskEnv(c: ContainerDef): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const e of c.environment) env[e.name] = e.value;
  for (const s of c.secrets ?? []) {
    env[s.name] =
      s.name === 'CONSUL_GOSSIP_KEY' ? Buffer.alloc(32, 7).toString('base64') : `x-${s.name}`;
  }
  return env;
}

/** The spec as written (before interpolation), the parts these checks read. */
interface RawSpec {
  datacenter?: string;
  role?: string;
  consul?: {
    encrypt?: string;
    tls?: Record<string, unknown>;
    acl?: { enabled?: boolean; defaultPolicy?: string; tokens?: Record<string, string> };
  };
  services?: { name: string; token?: string }[];
  gateways?: { name: string; token?: string }[];
}

/** Every ACL token field of a spec, by its path: consul.acl.tokens.*, services[].token, gateways[].token. */
function tokenFields(raw: RawSpec): [string, string | undefined][] {
  return [
    ...Object.entries(raw.consul?.acl?.tokens ?? {}).map(([k, v]): [string, string | undefined] => [
      `consul.acl.tokens.${k}`,
      v,
    ]),
    ...(raw.services ?? []).map((s, i): [string, string | undefined] => [
      `services[${i}].token`,
      s.token,
    ]),
    ...(raw.gateways ?? []).map((g, i): [string, string | undefined] => [
      `gateways[${i}].token`,
      g.token,
    ]),
  ];
}

/** `${VAR}` and nothing else (no default: a token must never have a literal fallback). */
const VAR_REF = /^\$\{([A-Z_][A-Z0-9_]*)\}$/;

/** The token fields each node must set: the rest fall back to what the spec documents. */
const REQUIRED_TOKENS: Record<string, string[]> = {
  server: ['initialManagement', 'agent', 'meshvisor'],
  client: ['agent', 'meshvisor'],
};

describe('ECS task definitions (deploy/ecs)', () => {
  it('has one per node of the original setup', () => {
    assert.deepEqual(nodes, ['ingress', 'node1', 'node2', 'server']);
  });

  for (const node of nodes) {
    describe(`taskdef-${node}.json`, () => {
      const td = TaskDefinition.parse(JSON.parse(read(`deploy/ecs/taskdef-${node}.json`)));
      const mv = meshvisorOf(td);
      const specJson = mv.environment.find((e) => e.name === 'MESHVISOR_CONFIG_JSON')?.value;

      it('embeds deploy/ecs/specs/<node>.yaml as MESHVISOR_CONFIG_JSON (run sync-specs.mjs)', () => {
        assert.ok(specJson, 'no MESHVISOR_CONFIG_JSON');
        assert.deepEqual(JSON.parse(specJson), parse(read(`deploy/ecs/specs/${node}.yaml`)));
      });

      it('its spec loads with loadSpec, from the environment the task provides', async () => {
        const spec = await loadSpec({ env: taskEnv(mv) });
        assert.equal(spec.role, node === 'server' ? 'server' : 'client');
        assert.equal(spec.timeouts.stopSeconds < mv.stopTimeout, true);
      });

      it('keeps secrets out of the spec and out of plain environment', () => {
        const raw = JSON.parse(specJson!) as RawSpec;
        assert.match(raw.consul?.encrypt ?? '', /^\$\{CONSUL_GOSSIP_KEY\}$/);
        for (const c of td.containerDefinitions) {
          for (const e of c.environment) {
            assert.doesNotMatch(e.name, SECRET_NAME, `${c.name}: ${e.name} belongs in secrets`);
            assert.doesNotMatch(e.value, SECRET_VALUE, `${c.name}: ${e.name} looks like a secret`);
          }
          if (c !== mv) assert.equal(c.secrets, undefined, `${c.name}: apps get no Consul secret`);
        }
      });

      it('takes every ACL token from a ${VAR} that only `secrets` provides', () => {
        const raw = JSON.parse(specJson!) as RawSpec;
        const fields = tokenFields(raw);
        assert.ok(fields.length > 0, 'no ACL token at all');
        const secretNames = new Set((mv.secrets ?? []).map((s) => s.name));
        const plainNames = new Set(mv.environment.map((e) => e.name));
        const referenced = ['CONSUL_GOSSIP_KEY'];
        for (const [path, value] of fields) {
          const variable = VAR_REF.exec(value ?? '')?.[1];
          assert.ok(variable, `${path}: ${JSON.stringify(value)} is not a \${VAR} reference`);
          assert.ok(secretNames.has(variable), `${path}: ${variable} is not in secrets`);
          assert.ok(!plainNames.has(variable), `${path}: ${variable} is also in environment`);
          referenced.push(variable);
        }
        // Nothing in `secrets` that the spec does not use, and one variable per token field.
        assert.deepEqual([...secretNames].sort(), [...new Set(referenced)].sort());
        assert.equal(new Set(referenced).size, referenced.length, 'two fields share a variable');
      });

      it('sets the tokens its role needs, and every service and gateway has its own', () => {
        const raw = JSON.parse(specJson!) as RawSpec;
        const tokens = raw.consul?.acl?.tokens ?? {};
        const role = node === 'server' ? 'server' : 'client';
        for (const field of REQUIRED_TOKENS[role]!) {
          assert.ok(tokens[field], `consul.acl.tokens.${field} is not set`);
        }
        if (role === 'client') assert.equal(tokens.initialManagement, undefined);
        assert.equal(tokens.default, undefined, 'no anonymous (default) token in production');
        for (const s of raw.services ?? []) assert.ok(s.token, `service ${s.name}: no token`);
        for (const g of raw.gateways ?? []) assert.ok(g.token, `gateway ${g.name}: no token`);
      });

      it('hands each token to what uses it (agent, meshvisor, each service and gateway)', async () => {
        const env = taskEnv(mv);
        const spec = await loadSpec({ env });
        assert.equal(apiToken(spec), env.CONSUL_MESHVISOR_TOKEN);
        assert.notEqual(apiToken(spec), spec.consul.acl?.tokens.agent);
        const raw = JSON.parse(specJson!) as RawSpec;
        const own = (token: string | undefined) => env[VAR_REF.exec(token ?? '')?.[1] ?? ''];
        spec.services.forEach((s, i) => {
          assert.equal(serviceToken(spec, s), own(raw.services?.[i]?.token), s.name);
          assert.notEqual(serviceToken(spec, s), apiToken(spec), s.name);
        });
        spec.gateways.forEach((g, i) => {
          assert.equal(gatewayToken(spec, g), own(raw.gateways?.[i]?.token), g.name);
          assert.notEqual(gatewayToken(spec, g), apiToken(spec), g.name);
        });
      });

      it('runs ACLs with default deny, gossip encryption and TLS with auto-encrypt', async () => {
        const spec = await loadSpec({ env: taskEnv(mv) });
        assert.equal(spec.consul.acl?.enabled, true);
        assert.equal(spec.consul.acl?.defaultPolicy, 'deny');
        // The raw spec says deny itself, rather than relying on the schema's default.
        assert.equal((JSON.parse(specJson!) as RawSpec).consul?.acl?.defaultPolicy, 'deny');
        assert.ok(spec.consul.encrypt, 'no gossip key');
        const tls = spec.consul.tls;
        assert.ok(tls, 'no TLS');
        assert.equal(
          tls.autoEncrypt,
          true,
          'auto-encrypt (allow_tls on the server, tls on clients)',
        );
        assert.equal(tls.verifyOutgoing, true);
        assert.ok(tls.caFile, 'no CA');
        if (spec.role === 'server') assert.ok(tls.certFile && tls.keyFile, 'server certificate');
        else assert.equal(tls.certFile, undefined, 'clients get their certificate by auto-encrypt');
      });

      it('runs meshvisor with an init process, its health check and a long enough stop', () => {
        assert.equal(mv.linuxParameters?.initProcessEnabled, true);
        assert.deepEqual(mv.healthCheck.command, ['CMD', 'meshvisor', 'status', '--ready']);
        const stopSeconds =
          (JSON.parse(specJson!) as { timeouts?: { stopSeconds?: number } }).timeouts
            ?.stopSeconds ?? 25;
        assert.ok(mv.stopTimeout > stopSeconds, `stopTimeout ${mv.stopTimeout} <= ${stopSeconds}`);
        assert.ok(mv.stopTimeout <= ECS_MAX_STOP_TIMEOUT);
        assert.ok(mv.healthCheck.startPeriod >= 60, 'startPeriod shorter than a cold start');
      });

      it('uses the server image for the server and the agent image elsewhere', () => {
        const repo = node === 'server' ? 'meshvisor-server' : 'meshvisor-agent';
        assert.match(mv.image, new RegExp(`/${repo}:`));
      });

      it('runs as root only where a listener below 1024 needs it (host networking)', async () => {
        const spec = await loadSpec({ env: taskEnv(mv) });
        const lowPort = spec.gateways.some((g) => g.listeners.some((l) => l.port < 1024));
        if (lowPort) assert.equal(mv.user, '0', 'a listener below 1024 needs root on the host');
        else assert.equal(mv.user, undefined, 'no reason to override the image user');
        for (const c of td.containerDefinitions) {
          if (c !== mv) assert.equal(c.user, undefined, c.name);
        }
      });

      it('runs each registered service as an app container meshvisor depends on', async () => {
        const spec = await loadSpec({ env: taskEnv(mv) });
        const apps = td.containerDefinitions.filter((c) => c !== mv);
        assert.deepEqual(apps.map((c) => c.name).sort(), spec.services.map((s) => s.name).sort());
        for (const s of spec.services) {
          const app = apps.find((c) => c.name === s.name)!;
          const env = Object.fromEntries(app.environment.map((e) => [e.name, e.value]));
          assert.equal(Number(env.PORT), s.port, `${s.name}: PORT`);
          const want = (s.sidecar?.upstreams ?? []).map((u) => `${u.service}=${u.localPort}`);
          assert.deepEqual((env.UPSTREAMS ?? '').split(',').filter(Boolean), want);
          // meshvisor starts after its apps and, in reverse, stops (drains) before them.
          assert.ok(
            mv.dependsOn?.some((d) => d.containerName === s.name && d.condition === 'START'),
          );
        }
      });

      it('mounts only declared volumes', () => {
        const declared = new Set(td.volumes.map((v) => v.name));
        for (const c of td.containerDefinitions) {
          for (const m of c.mountPoints ?? [])
            assert.ok(declared.has(m.sourceVolume), m.sourceVolume);
        }
      });
    });
  }

  it('agree on the datacenter, and no two tasks share a token secret', () => {
    const tds = nodes.map((n) =>
      TaskDefinition.parse(JSON.parse(read(`deploy/ecs/taskdef-${n}.json`))),
    );
    const specs = tds.map((td) => {
      const json = meshvisorOf(td).environment.find((e) => e.name === 'MESHVISOR_CONFIG_JSON');
      return JSON.parse(json!.value) as RawSpec;
    });
    assert.equal(new Set(specs.map((s) => s.datacenter)).size, 1);
    assert.equal(specs.filter((s) => s.role === 'server').length, 1);
    // Only the gossip key is the datacenter's; every token is one node's (least privilege).
    const seen = new Map<string, string>();
    for (const td of tds) {
      for (const s of meshvisorOf(td).secrets ?? []) {
        if (s.name === 'CONSUL_GOSSIP_KEY') continue;
        const other = seen.get(s.valueFrom);
        assert.equal(other, undefined, `${td.family} ${s.name} and ${other} share ${s.valueFrom}`);
        seen.set(s.valueFrom, `${td.family} ${s.name}`);
      }
    }
  });

  it('every task definition is deployed by the workflow', () => {
    const workflow = read('.github/workflows/deploy.yml');
    for (const node of nodes) assert.ok(workflow.includes(`deploy/ecs/taskdef-${node}.json`), node);
  });
});
