// Replays 05-connect-envoy against the double's `consul connect envoy`: exit codes, stderr texts,
// the bootstrap JSON (byte-identical for the same inputs), the lookups made (in order, no retry),
// and the exec: same PID, argv shape, 0600 FIFO, pipe-bootstrap message, environment, signals.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StubAgent } from '../doubles/consul/connect/stub-agent.ts';
import { RECORDINGS, recorded, startStubAgent } from '../doubles/consul/connect/stub-agent.ts';
import { buildDoubles, CONSUL_DOUBLE } from '../helpers/doubles.ts';

const CONSUL = CONSUL_DOUBLE;
const NODE_DIR = dirname(process.execPath);

interface Cli {
  argv: string[];
  exit_code: number;
  stdout: string;
  stderr: string;
}
const rec = (name: string) => recorded<Cli>(`05-connect-envoy/${name}`);

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function collect(child: ChildProcess, timeoutMs = 15_000): Promise<Result> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function consul(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(CONSUL, args, {
    env: { PATH: `${NODE_DIR}:/usr/bin:/bin`, HOME: tmpdir(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** The recorded argv after `consul connect envoy`, pointed at the stub agent. */
function argsOf(r: Cli, agent: StubAgent): string[] {
  return r.argv.slice(3).map((a) => a.replace('10.77.0.11:8500', agent.address));
}

describe('consul connect envoy (05-connect-envoy)', () => {
  let agent: StubAgent;
  before(async () => {
    buildDoubles();
    agent = await startStubAgent({
      services: recorded('05-connect-envoy/gateway-after.agent-services.json'),
    });
  });
  after(() => agent.close());

  for (const name of [
    'bootstrap-sidecar-users-1.json',
    'bootstrap-sidecar-users-1-admin-bind-19001.json',
    'bootstrap-sidecar-no-grpc-addr.json',
    'bootstrap-gateway-ingress-no-register-no-service.json',
  ]) {
    it(`${name}: the same bootstrap text, exit 0`, async () => {
      const r = rec(name);
      agent.requests.length = 0;
      const res = await collect(consul(['connect', 'envoy', ...argsOf(r, agent)]));
      assert.equal(res.code, r.exit_code);
      assert.equal(res.stderr, r.stderr);
      assert.equal(res.stdout, r.stdout);
    });
  }

  it('lookups in the recorded order: services, self (no -grpc-addr), the proxy', async () => {
    agent.requests.length = 0;
    const r = rec('bootstrap-sidecar-no-grpc-addr.json');
    await collect(consul(['connect', 'envoy', ...argsOf(r, agent)]));
    assert.deepEqual(agent.requests, [
      'GET /v1/agent/services',
      'GET /v1/agent/self',
      'GET /v1/agent/service/users-1-sidecar-proxy',
    ]);
  });

  for (const name of [
    'bootstrap-sidecar-not-registered.json',
    'bootstrap-sidecar-not-registered-uppercase-id.json',
    'bootstrap-proxy-id-not-registered.json',
    'bootstrap-no-args.json',
    'bootstrap-gateway-bogus-kind.json',
    'exec-sidecar-not-registered-with-fake-envoy.json',
  ]) {
    it(`${name}: the recorded error, exit 1, no retry`, async () => {
      const r = rec(name);
      agent.requests.length = 0;
      const res = await collect(consul(['connect', 'envoy', ...argsOf(r, agent)]));
      assert.equal(res.code, r.exit_code);
      assert.equal(res.stdout, r.stdout);
      assert.equal(res.stderr, r.stderr);
      assert.ok(agent.requests.length <= 1, agent.requests.join(', '));
    });
  }

  it('bootstrap-sidecar-default-http-addr.json: connection refused, worded like Go', async () => {
    const r = rec('bootstrap-sidecar-default-http-addr.json');
    // nothing listens on port 1 (the recorded agent was not on the default 127.0.0.1:8500)
    const res = await collect(
      consul(['connect', 'envoy', ...r.argv.slice(3)], { CONSUL_HTTP_ADDR: '127.0.0.1:1' }),
    );
    assert.equal(res.code, 1);
    assert.equal(res.stderr, r.stderr.replaceAll('127.0.0.1:8500', '127.0.0.1:1'));
  });

  it('bootstrap-gateway-ingress-register.json: registers, prints only the bootstrap', async () => {
    const gw = await startStubAgent();
    try {
      const r = rec('bootstrap-gateway-ingress-register.json');
      const args = argsOf(r, gw).map((a) => (a === '10.77.0.11:8888' ? '127.0.0.1:8888' : a));
      const res = await collect(consul(['connect', 'envoy', ...args]));
      assert.equal(res.code, 0, res.stderr);
      assert.equal(
        res.stdout,
        r.stdout.replace(
          '"10.77.0.11",\n            "port_value": 8888',
          '"127.0.0.1",\n            "port_value": 8888',
        ),
      );
      assert.deepEqual(gw.requests, [
        'PUT /v1/agent/service/register',
        'GET /v1/agent/service/ingress-service',
      ]);
      assert.deepEqual(gw.registrations[0], {
        Kind: 'ingress-gateway',
        ID: 'ingress-service',
        Name: 'ingress-service',
        Address: '127.0.0.1',
        Port: 8888,
        TaggedAddresses: { lan: { Address: '127.0.0.1', Port: 8888 } },
        Check: {
          Name: 'ingress-gateway listening',
          TCP: '127.0.0.1:8888',
          Interval: '10s',
          DeregisterCriticalServiceAfter: '6h',
        },
      });
    } finally {
      await gw.close();
    }
  });

  it('a gateway -address that is not a local interface is refused', async () => {
    const res = await collect(
      consul([
        'connect',
        'envoy',
        '-gateway=ingress',
        '-register',
        '-address',
        '0.0.0.0:8888',
        `-http-addr=${agent.address}`,
      ]),
    );
    assert.equal(res.code, 1);
    assert.match(res.stderr, /^The LAN address "0\.0\.0\.0" will not be bindable/);
  });

  it('exec-no-envoy-on-path.json: the recorded error', async () => {
    const r = rec('exec-no-envoy-on-path.json');
    const res = await collect(consul(['connect', 'envoy', ...argsOf(r, agent)]));
    assert.equal(res.code, 1);
    assert.equal(res.stderr, r.stderr);
  });

  describe('exec in place (exec-*/)', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'connect-envoy-exec-'));
      // like the recording's scripts/fake-envoy.sh: report what it sees, read the FIFO, wait
      writeFileSync(
        join(dir, 'envoy'),
        `#!/bin/bash
trap 'echo "fake-envoy: received SIGTERM, exiting 0"; exit 0' TERM
trap 'echo "fake-envoy: received SIGINT, exiting 0"; exit 0' INT
out=$FAKE_ENVOY_OUT
cfg=""; prev=""
for a in "$@"; do [ "$prev" = --config-path ] && cfg=$a; prev=$a; done
{ echo "pid=$$"; printf 'arg=%s\\n' "$0" "$@"; echo "type=$(stat -c %F "$cfg")"; echo "mode=$(stat -c %a "$cfg")"; echo "marker=$MARKER_FROM_CALLER"; } > "$out/seen.txt"
cat "$cfg" > "$out/config.tmp" && mv "$out/config.tmp" "$out/config.json"
echo "fake-envoy running pid=$$ args=$*"
while :; do sleep 0.1; done
`,
      );
      chmodSync(join(dir, 'envoy'), 0o755);
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    for (const [folder, signal] of [
      ['exec-sidecar-users-1', 'SIGTERM'],
      ['exec-sidecar-users-1-admin-bind-19001-extra-args', 'SIGINT'],
      ['exec-sidecar-users-1-restart-epoch', 'SIGTERM'],
      ['exec-gateway-ingress', 'SIGTERM'],
    ] as const) {
      it(`${folder}: same PID, argv, FIFO, pipe-bootstrap, env, signal`, async () => {
        const start = recorded<{ command: string[]; pid: number }>(
          `05-connect-envoy/${folder}/connect-envoy.start.json`,
        );
        const gw = await startStubAgent({
          services: recorded('05-connect-envoy/gateway-before.agent-services.json'),
        });
        const out = mkdtempSync(join(dir, 'out-'));
        try {
          const args = start.command
            .slice(3)
            .map((a) => a.replace('10.77.0.11:8500', gw.address))
            .map((a) => (a === '10.77.0.11:8888' ? '127.0.0.1:8888' : a));
          const child = consul(['connect', 'envoy', ...args], {
            PATH: `${dir}:${NODE_DIR}:/usr/bin:/bin`,
            FAKE_ENVOY_OUT: out,
            MARKER_FROM_CALLER: 'hello',
          });
          const done = collect(child);
          const seenPath = join(out, 'seen.txt');
          for (let i = 0; i < 150 && !existsSync(join(out, 'config.json')); i++) await sleep(100);
          const seen = readFileSync(seenPath, 'utf8');
          assert.match(seen, new RegExp(`^pid=${child.pid}$`, 'm'), 'envoy runs in the same PID');
          const argv = [...seen.matchAll(/^arg=(.*)$/gm)].map((m) => m[1]);
          const passthrough = start.command.includes('--')
            ? start.command.slice(start.command.indexOf('--') + 1)
            : [];
          // 1.10's isHotRestartOption (exec_unix.go): any of these leaves the flag out.
          const hotRestartOption = passthrough.some((a) =>
            [
              '--restart-epoch',
              '--hot-restart-version',
              '--drain-time-s',
              '--parent-shutdown-time-s',
            ].some((opt) => a === opt || a.startsWith(`${opt}=`)),
          );
          const hot = hotRestartOption ? [] : ['--disable-hot-restart'];
          assert.equal(argv[0], join(dir, 'envoy'));
          assert.equal(argv[1], '--config-path');
          assert.match(argv[2] ?? '', /^\/tmp\/envoy-[0-9a-f]+-bootstrap\.json$/);
          assert.deepEqual(argv.slice(3), [...hot, ...passthrough]);
          assert.match(seen, /^type=fifo$/m);
          assert.match(seen, /^mode=600$/m);
          assert.match(seen, /^marker=hello$/m, 'the environment passes through');
          const recDir = join(RECORDINGS, '05-connect-envoy', folder);
          const configName = readdirSync(recDir).find((f) => f.endsWith('.config.json'));
          const recordedConfig = readFileSync(join(recDir, configName as string), 'utf8');
          assert.equal(
            readFileSync(join(out, 'config.json'), 'utf8'),
            recordedConfig.replace(
              '"10.77.0.11",\n            "port_value": 8888',
              '"127.0.0.1",\n            "port_value": 8888',
            ),
          );
          for (let i = 0; i < 50 && existsSync(argv[2] as string); i++) await sleep(100);
          assert.equal(existsSync(argv[2] as string), false, 'the FIFO is unlinked');
          child.kill(signal);
          const res = await done;
          assert.equal(res.code, 0);
          assert.match(res.stderr, /^Bootstrap sent, unlinking named pipe$/m);
          assert.match(res.stdout, new RegExp(`received ${signal}, exiting 0`));
          if (folder === 'exec-gateway-ingress') {
            assert.match(res.stdout, /^Registered service: ingress-service$/m);
          }
        } finally {
          await gw.close();
        }
      });
    }

    it('pipe-bootstrap gives up when nobody reads the FIFO: unlinks it, exit 99', async () => {
      const fifo = join(dir, 'unread.fifo');
      const mk = spawn('mkfifo', ['-m', '600', fifo]);
      await new Promise((r) => mk.on('close', r));
      const child = spawn(CONSUL, ['connect', 'envoy', 'pipe-bootstrap', fifo], {
        env: { PATH: `${NODE_DIR}:/usr/bin:/bin`, CONSUL_DOUBLE_PIPE_TIMEOUT_MS: '500' },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      child.stdin?.end('{}\n');
      const res = await collect(child);
      assert.equal(res.code, 99);
      assert.equal(existsSync(fifo), false);
    });
  });
});
