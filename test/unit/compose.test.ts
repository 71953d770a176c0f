// docker-compose.yml (the dev mesh) and its node specs in deploy/compose/specs/: the wiring the
// mesh depends on, checked statically in a second with no Docker engine (test/docker/mesh.test.ts
// runs the mesh on a real one, in .ci/run): each node's spec is mounted where MESHVISOR_CONFIG
// points, each demo service shares its node's network namespace and listens where the spec
// registers it, its UPSTREAMS match the sidecar's upstreams, ports never collide inside one
// namespace, the ingress listener is published on localhost:8080 and each node's status endpoint
// on its own localhost port (the README names them), Docker's stop grace period outlasts
// meshvisor's ordered stop, the clients depend on the server (compose stops them first) and point
// their `consul` CLI at their agent, and the guide says `down -v`. The specs use only the node
// spec's field names (docs: design "Node spec"). The opt-in ACL overlay (deploy/compose/acl.yml)
// mounts, over each node's spec, the same spec plus consul.acl from deploy/compose/specs-acl/,
// and every token anywhere is a `${VAR}` the environment fills, never a literal.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { loadSpec } from '../../src/spec/index.ts';

const ROOT = new URL('../../', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, ROOT), 'utf8');
const SPEC_DIR = 'deploy/compose/specs/';
const ACL_SPEC_DIR = 'deploy/compose/specs-acl/';
const ACL_OVERLAY = 'deploy/compose/acl.yml';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Obj = { [key: string]: Json };

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const obj = (v: unknown, what: string): Obj => {
  assert.ok(isObj(v), `${what} is not a mapping`);
  return v;
};
const arr = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);

interface ComposeService {
  build?: string | { context?: string; dockerfile?: string };
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  networks?: string[];
  network_mode?: string;
  stop_grace_period?: string;
  hostname?: string;
  depends_on?: Record<string, { condition: string }>;
}

const compose = parse(read('docker-compose.yml'), { merge: true }) as {
  services: Record<string, ComposeService>;
};
const specFiles = readdirSync(new URL(SPEC_DIR, ROOT)).filter((f) => /\.ya?ml$/.test(f));
const specs = new Map(specFiles.map((f) => [f, obj(parse(read(SPEC_DIR + f)), f)]));

interface Node {
  service: string;
  file: string;
  spec: Obj;
  compose: ComposeService;
}

/** Compose services that run meshvisor: their spec is mounted where MESHVISOR_CONFIG points. */
function nodes(): Node[] {
  const found: Node[] = [];
  for (const [name, svc] of Object.entries(compose.services)) {
    const target = svc.environment?.MESHVISOR_CONFIG;
    if (!target) continue;
    const mount = (svc.volumes ?? []).find((v) => v.split(':')[1] === target);
    assert.ok(mount, `${name}: MESHVISOR_CONFIG=${target} but nothing is mounted there`);
    const [source, , mode] = mount.split(':');
    assert.equal(mode, 'ro', `${name}: mount the spec read-only`);
    const file = source!.replace(/^\.\//, '').replace(SPEC_DIR, '');
    assert.ok(source!.startsWith(`./${SPEC_DIR}`), `${name}: spec not from ${SPEC_DIR}`);
    const spec = specs.get(file);
    assert.ok(spec, `${name}: ${source} does not exist`);
    found.push({ service: name, file, spec, compose: svc });
  }
  return found;
}

const seconds = (duration: string): number => {
  const m = /^(\d+)(ms|s|m)$/.exec(duration);
  assert.ok(m, `cannot read duration ${duration}`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n / 1000 : m[2] === 'm' ? n * 60 : n;
};

const dockerfileOf = (svc: ComposeService): string | undefined =>
  typeof svc.build === 'object' ? svc.build.dockerfile : undefined;

describe('dev mesh node specs (deploy/compose/specs)', () => {
  it('has the four nodes of the original setup', () => {
    assert.deepEqual([...specs.keys()].sort(), [
      'ingress.yaml',
      'node1.yaml',
      'node2.yaml',
      'server.yaml',
    ]);
  });

  for (const [file, spec] of specs) {
    // The zod schema rejects unknown keys, so this also holds the file to the spec's field names.
    it(`${file} loads with loadSpec, as the container loads it (no environment needed)`, async () => {
      const path = fileURLToPath(new URL(SPEC_DIR + file, ROOT));
      const loaded = await loadSpec({ env: { MESHVISOR_CONFIG: path } });
      assert.equal(loaded.role, spec.role);
      assert.equal(loaded.nodeName, spec.nodeName);
    });
  }

  it('agree on the datacenter, and every client joins the server', () => {
    const all = [...specs.values()];
    assert.equal(new Set(all.map((s) => s.datacenter)).size, 1);
    const servers = nodes().filter((n) => n.spec.role === 'server');
    assert.equal(servers.length, 1);
    const server = servers[0]!;
    for (const node of nodes().filter((n) => n.spec.role === 'client')) {
      const join = arr(obj(node.spec.consul, 'consul').retryJoin);
      assert.ok(
        join.includes(server.service) || join.includes(server.compose.hostname ?? ''),
        `${node.file}: retryJoin ${JSON.stringify(join)} does not name ${server.service}`,
      );
    }
  });

  it('register http services, which the ingress "*" listener requires', () => {
    for (const node of nodes()) {
      for (const s of arr(node.spec.services)) {
        assert.equal(obj(s, 'service').protocol, 'http', `${node.file}: ${JSON.stringify(s)}`);
      }
    }
  });

  it('every upstream is a service some node registers', () => {
    const registered = new Set(
      nodes().flatMap((n) => arr(n.spec.services).map((s) => obj(s, 'service').name)),
    );
    for (const node of nodes()) {
      for (const s of arr(node.spec.services)) {
        const sidecar = obj(s, 'service').sidecar;
        for (const up of isObj(sidecar) ? arr(sidecar.upstreams) : []) {
          assert.ok(
            registered.has(obj(up, 'upstream').service),
            `${node.file}: ${JSON.stringify(up)}`,
          );
        }
      }
    }
  });
});

describe('docker-compose.yml', () => {
  it('runs each spec in exactly one node service, with the right image', () => {
    const mounted = nodes();
    assert.deepEqual(mounted.map((n) => n.file).sort(), [...specs.keys()].sort());
    for (const node of mounted) {
      const expected = node.spec.role === 'server' ? 'Dockerfile.server' : 'Dockerfile.agent';
      assert.equal(dockerfileOf(node.compose), expected, node.service);
      assert.deepEqual(node.compose.networks, ['mesh'], `${node.service}: not on the mesh network`);
    }
  });

  it("gives Docker's stop grace period more time than the spec's ordered stop", () => {
    for (const node of nodes()) {
      const stop = Number(obj(node.spec.timeouts, 'timeouts').stopSeconds ?? 25);
      const grace = node.compose.stop_grace_period;
      assert.ok(grace, `${node.service}: no stop_grace_period (Docker's default is 10s)`);
      assert.ok(seconds(grace) > stop, `${node.service}: ${grace} <= stopSeconds ${stop}`);
    }
  });

  it('runs every registered service as a demo service inside its node', () => {
    for (const node of nodes()) {
      for (const raw of arr(node.spec.services)) {
        const s = obj(raw, 'service');
        const entry = Object.entries(compose.services).find(
          ([, svc]) => svc.environment?.SERVICE_NAME === s.name,
        );
        assert.ok(entry, `${node.file}: no demo service runs ${String(s.name)}`);
        const [name, svc] = entry;
        assert.equal(
          svc.network_mode,
          `service:${node.service}`,
          `${name}: not in ${node.service}`,
        );
        assert.equal(svc.networks, undefined, `${name}: network_mode and networks together`);
        assert.ok(svc.depends_on?.[node.service], `${name}: does not depend on ${node.service}`);
        assert.equal(Number(svc.environment?.PORT), s.port, `${name}: PORT vs the spec's port`);
        assert.equal(
          typeof svc.build === 'object' ? svc.build.context : svc.build,
          'images/demo-service',
        );
        const sidecar = isObj(s.sidecar) ? s.sidecar : {};
        const want = arr(sidecar.upstreams)
          .map(
            (u) => `${String(obj(u, 'upstream').service)}=${String(obj(u, 'upstream').localPort)}`,
          )
          .sort();
        const have = (svc.environment?.UPSTREAMS ?? '')
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean)
          .sort();
        assert.deepEqual(have, want, `${name}: UPSTREAMS vs the sidecar's upstreams`);
      }
    }
  });

  it('never uses one port twice inside a node network namespace', () => {
    for (const node of nodes()) {
      const used = new Map<number, string>();
      const claim = (port: unknown, what: string) => {
        assert.equal(typeof port, 'number', `${node.file}: ${what} is not a number`);
        const other = used.get(port as number);
        assert.equal(
          other,
          undefined,
          `${node.file}: ${what} and ${other} both use ${String(port)}`,
        );
        used.set(port as number, what);
      };
      const consul = obj(node.spec.consul, 'consul');
      const ports = isObj(consul.ports) ? consul.ports : {};
      claim(ports.http ?? 8500, 'consul http');
      claim(ports.grpc ?? 8502, 'consul grpc');
      const status = isObj(node.spec.status) ? String(node.spec.status.listen) : '127.0.0.1:9555';
      claim(Number(status.split(':').at(-1)), 'status');
      const services = arr(node.spec.services).map((s) => obj(s, 'service'));
      const gateways = arr(node.spec.gateways).map((g) => obj(g, 'gateway'));
      const proxy = isObj(node.spec.proxy) ? node.spec.proxy : {};
      const base = Number(proxy.adminPortBase ?? 19000);
      const proxies = services.filter((s) => s.sidecar !== undefined).length + gateways.length;
      for (let i = 0; i < proxies; i++) claim(base + i, `envoy admin ${i}`);
      for (const s of services) {
        claim(s.port, `service ${String(s.name)}`);
        const sidecar = isObj(s.sidecar) ? s.sidecar : {};
        for (const u of arr(sidecar.upstreams)) {
          claim(
            obj(u, 'upstream').localPort,
            `${String(s.name)} -> ${String(obj(u, 'up').service)}`,
          );
        }
      }
      for (const g of gateways) {
        claim(g.port, `gateway ${String(g.name)}`);
        for (const l of arr(g.listeners)) claim(obj(l, 'listener').port, `listener`);
      }
    }
  });

  it('publishes the ingress http listener on localhost:8080, routing every service', () => {
    const ingress = nodes().filter((n) => arr(n.spec.gateways).length > 0);
    assert.equal(ingress.length, 1);
    const node = ingress[0]!;
    const gateway = obj(arr(node.spec.gateways)[0], 'gateway');
    assert.equal(gateway.kind, 'ingress');
    const listener = obj(arr(gateway.listeners)[0], 'listener');
    assert.equal(listener.protocol, 'http');
    assert.deepEqual(listener.services, ['*']);
    assert.ok(
      (node.compose.ports ?? []).includes(`127.0.0.1:8080:${String(listener.port)}`),
      `${node.service} does not publish 127.0.0.1:8080 -> ${String(listener.port)}`,
    );
  });

  // A published port reaches the container's eth0, never its loopback: a status endpoint on
  // 127.0.0.1 would be published but unreachable. The README names each page's address.
  it("publishes each node's status endpoint on its own host port, named in the README", () => {
    const readme = read('README.md');
    const hostPorts = new Set<string>();
    for (const node of nodes()) {
      const listen = isObj(node.spec.status) ? String(node.spec.status.listen) : '127.0.0.1:9555';
      const [host, port] = listen.split(':');
      assert.equal(host, '0.0.0.0', `${node.file}: status.listen ${listen} is not every address`);
      const published = (node.compose.ports ?? []).filter((p) => p.split(':').at(-1) === port);
      assert.equal(published.length, 1, `${node.service}: status port ${port} published once`);
      const hostPort = published[0]!.split(':')[1]!;
      assert.ok(!hostPorts.has(hostPort), `${node.service}: host port ${hostPort} taken twice`);
      hostPorts.add(hostPort);
      assert.ok(
        readme.includes(`http://127.0.0.1:${hostPort}/`),
        `README.md does not say ${node.service}'s page is at http://127.0.0.1:${hostPort}/`,
      );
    }
  });

  it('publishes nothing on all interfaces', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      for (const p of svc.ports ?? []) assert.match(p, /^127\.0\.0\.1:/, `${name}: ${p}`);
    }
  });

  // Compose stops a service's dependents before it: without the dependency `down`/`stop` stops
  // the server together with the clients, whose leave then fails (`No known Consul servers`) and
  // which never show `left` (issue 13; test/docker/mesh.test.ts watches it happen in order).
  it('makes every client node depend on the server, so the clients stop (and leave) first', () => {
    const server = nodes().find((n) => n.spec.role === 'server')!;
    for (const node of nodes().filter((n) => n.spec.role === 'client')) {
      assert.ok(
        node.compose.depends_on?.[server.service],
        `${node.service}: does not depend on ${server.service}`,
      );
    }
  });

  // The renderer binds a client's HTTP API to the node address only (addresses.http: under ECS
  // host networking 127.0.0.1 is the host's, shared by every task), so `docker compose exec node1
  // consul members` needs CONSUL_HTTP_ADDR; the container's hostname resolves to that address.
  it("points each client node's consul CLI at its agent (CONSUL_HTTP_ADDR)", () => {
    for (const node of nodes().filter((n) => n.spec.role === 'client')) {
      const consul = obj(node.spec.consul, 'consul');
      const ports = isObj(consul.ports) ? consul.ports : {};
      assert.equal(obj(node.spec.address, 'address').interface, 'eth0', node.file);
      assert.equal(node.compose.hostname, node.service, `${node.service}: hostname`);
      assert.equal(
        node.compose.environment?.CONSUL_HTTP_ADDR,
        `http://${node.compose.hostname}:${String(ports.http ?? 8500)}`,
        node.service,
      );
    }
    // A server listens on consul.clientAddr (default 0.0.0.0), loopback included.
    for (const node of nodes().filter((n) => n.spec.role === 'server')) {
      const clientAddr = obj(node.spec.consul, 'consul').clientAddr;
      assert.ok(clientAddr === undefined || clientAddr === '0.0.0.0', node.file);
      assert.equal(node.compose.environment?.CONSUL_HTTP_ADDR, undefined, node.service);
    }
  });

  // The images declare VOLUME /opt/consul: a plain `down` leaves one anonymous volume per node
  // behind, every time (issue 13). The guide says `down -v` wherever it stops the mesh.
  it('docs/local-mesh.md removes the volumes with every `docker compose down` it shows', () => {
    const doc = read('docs/local-mesh.md');
    const downs = [...doc.matchAll(/docker compose(?: -f \S+)* down\b[^\n`]*/g)].map((m) => m[0]);
    assert.ok(downs.length > 0, 'the guide never stops the mesh');
    for (const down of downs) assert.match(down, /\sdown -v\b/, down);
  });
});

/** Every ACL token field a spec sets, by path: consul.acl.tokens.*, services[].token, gateways[].token. */
function tokenFields(spec: Obj): [string, Json][] {
  const consul = isObj(spec.consul) ? spec.consul : {};
  const acl = isObj(consul.acl) ? consul.acl : {};
  const tokens = isObj(acl.tokens) ? acl.tokens : {};
  const fields: [string, Json | undefined][] = [
    ...Object.entries(tokens).map(([k, v]): [string, Json] => [`consul.acl.tokens.${k}`, v]),
    ...arr(spec.services).map((s, i): [string, Json | undefined] => [
      `services[${i}].token`,
      obj(s, 'service').token,
    ]),
    ...arr(spec.gateways).map((g, i): [string, Json | undefined] => [
      `gateways[${i}].token`,
      obj(g, 'gateway').token,
    ]),
  ];
  return fields.filter((f): f is [string, Json] => f[1] !== undefined);
}

/** The spec without consul.acl: what an ACL spec must share with its plain twin. */
function withoutAcl(spec: Obj): Obj {
  const consul = { ...obj(spec.consul, 'consul') };
  delete consul.acl;
  return { ...spec, consul };
}

describe('the dev mesh with ACLs (deploy/compose/acl.yml, deploy/compose/specs-acl)', () => {
  const overlay = parse(read(ACL_OVERLAY)) as { services: Record<string, ComposeService> };
  const aclFiles = readdirSync(new URL(ACL_SPEC_DIR, ROOT)).filter((f) => /\.ya?ml$/.test(f));
  const aclSpecs = new Map(aclFiles.map((f) => [f, obj(parse(read(ACL_SPEC_DIR + f)), f)]));
  const VAR = /^\$\{([A-Z_][A-Z0-9_]*)\}$/;

  it('runs without ACLs by default: no plain spec has consul.acl or a token', () => {
    for (const [file, spec] of specs) {
      assert.equal(obj(spec.consul, 'consul').acl, undefined, file);
      assert.deepEqual(tokenFields(spec), [], file);
    }
  });

  it('mounts, for every node, its ACL spec where MESHVISOR_CONFIG points, read-only', () => {
    const mounted = nodes();
    assert.deepEqual(Object.keys(overlay.services).sort(), mounted.map((n) => n.service).sort());
    for (const node of mounted) {
      const svc = overlay.services[node.service]!;
      const target = node.compose.environment!.MESHVISOR_CONFIG!;
      const mounts = (svc.volumes ?? []).filter((v) => v.split(':')[1] === target);
      assert.deepEqual(mounts, [`./${ACL_SPEC_DIR}${node.file}:${target}:ro`], node.service);
      assert.ok(aclSpecs.has(node.file), `${ACL_SPEC_DIR}${node.file} does not exist`);
    }
    assert.deepEqual([...aclSpecs.keys()].sort(), [...specs.keys()].sort());
  });

  it('passes each token variable from the environment, never a literal', () => {
    for (const [name, svc] of Object.entries(overlay.services)) {
      const env = svc.environment ?? {};
      assert.ok(Object.keys(env).length > 0, `${name}: no token variable`);
      for (const [key, value] of Object.entries(env)) {
        // `${CONSUL_DEV_TOKEN:?message}`: compose refuses to start when it is not set.
        assert.match(value, new RegExp(`^\\$\\{${key}:\\?[^}]+\\}$`), `${name}: ${key}`);
      }
    }
  });

  for (const [file, spec] of aclSpecs) {
    it(`${file} is ${SPEC_DIR}${file} plus consul.acl (deny), its tokens \${VAR}s`, async () => {
      assert.deepEqual(withoutAcl(spec), withoutAcl(specs.get(file)!));
      const acl = obj(obj(spec.consul, 'consul').acl, 'consul.acl');
      assert.equal(acl.defaultPolicy, 'deny');
      const fields = tokenFields(spec);
      assert.ok(fields.length > 0, 'no token');
      const variables = new Set<string>();
      for (const [path, value] of fields) {
        const variable = VAR.exec(String(value))?.[1];
        assert.ok(variable, `${path}: ${JSON.stringify(value)} is not a \${VAR} reference`);
        variables.add(variable);
      }
      const service = nodes().find((n) => n.file === file)!.service;
      const passed = Object.keys(overlay.services[service]?.environment ?? {});
      assert.deepEqual([...variables].sort(), passed.sort(), 'variables the overlay passes');
      const path = fileURLToPath(new URL(ACL_SPEC_DIR + file, ROOT));
      const env = Object.fromEntries(passed.map((v) => [v, `dev-${v}`]));
      const loaded = await loadSpec({ env: { ...env, MESHVISOR_CONFIG: path } });
      assert.equal(loaded.consul.acl?.enabled, true);
      assert.equal(loaded.role, spec.role);
    });
  }
});
