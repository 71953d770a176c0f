// `meshvisor doctor`: a checklist of everything a node needs before (or while) it runs, each
// check with a deadline, independent ones in parallel. It starts no program but the two version
// queries (`consul version`, `envoy --version`), writes nothing but a probe file it removes at
// once, and binds each port only to release it.
import { osInterfaces, type InterfaceReader } from '../net/index.ts';
import {
  loadSpecTraced,
  describeSpecSource,
  listenUrl,
  SpecError,
  secretValues,
  type NodeSpec,
  type TracedSpec,
} from '../spec/index.ts';
import { VERSION } from '../version.ts';
import { redactStrings } from '../redact.ts';
import { aclAgent, checkAclAgreement, checkAclOff, checkToken, type resolveToken } from './acl.ts';
import { tokenNeeds } from '../consul/rights.ts';
import { checkAddress, localAddresses } from './address.ts';
import { checkConsulBinary, checkEnvoyBinary, checkPair, type AgentSupport } from './binaries.ts';
import { plural, timed } from './check.ts';
import { checkClock } from './clock.ts';
import { checkConsulApi, probeAgents } from './consul-api.ts';
import { checkConfigDir, checkDataDir, checkTlsFiles } from './files.ts';
import { line, serfLanPort } from '../consul/index.ts';
import { checkJoinEntry } from './join.ts';
import { checkPortGroup, portGroups } from './ports.ts';
import { httpRequest } from './probe.ts';
import { REPORT_FORMAT, type Check, type DoctorReport } from './report.ts';
import { describeValues, literalSecrets, specValues } from './values.ts';

export { doctorJsonSchema, DoctorReportSchema, formatReport } from './report.ts';
export type { DoctorReport } from './report.ts';

export interface DoctorOptions {
  /** `-c FILE`. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Where interfaces are read from (tests). */
  interfaces?: InterfaceReader;
}

/** Runs every check; never throws for what it finds. */
export async function runDoctor(options: DoctorOptions = {}): Promise<DoctorReport> {
  const env = options.env ?? process.env;
  const source = describeSpecSource(options.file, env);
  let traced: TracedSpec;
  const started = performance.now();
  try {
    traced = await loadSpecTraced({ file: options.file, env });
  } catch (err) {
    if (!(err instanceof SpecError)) throw err;
    const count = err.problems.length;
    const check: Check = {
      id: 'spec',
      group: 'spec',
      title: 'spec',
      status: 'fail',
      found: `${plural(count, 'problem')}${source ? ` in ${source.name}` : ''}`,
      fix: 'fix each `path: message` below (`meshvisor validate` prints the same); docs/spec.md',
      details: err.problems.map((p) => ({
        status: 'fail' as const,
        text: `${p.path}: ${p.message}`,
      })),
      durationMs: Math.round(performance.now() - started),
    };
    return finish({
      node: null,
      spec: { source, valid: false, problems: err.problems, values: [] },
      checks: [check],
      specValid: false,
    });
  }
  const { spec } = traced;
  const specCheck: Check = {
    id: 'spec',
    group: 'spec',
    title: 'spec',
    status: 'ok',
    found: describeSpec(spec, traced.origin.name),
    durationMs: Math.round(performance.now() - started),
  };
  const values = specValues(traced);
  const valuesCheck = await timed('spec.values', 'spec', 'values', () => {
    const literal = literalSecrets(values);
    const counts = (['spec', 'env', 'default'] as const).map(
      (o) => values.filter((v) => v.origin === o).length,
    );
    const found = `${plural(values.length, 'value')}: ${counts[0]} written in the spec, ${counts[1]} from environment variables, ${counts[2]} defaults; secrets shown only by origin`;
    const details = describeValues(values, traced.origin.kind).map((text) => ({ text }));
    if (literal.length > 0) {
      return {
        status: 'warn',
        found: `${found}; ${plural(literal.length, 'secret')} written in the spec itself: ${literal.map((v) => v.path).join(', ')}`,
        fix: 'write secrets as ${VAR} and let the platform fill the variable (ECS secrets, an env file); docs/acl.md',
        details,
      };
    }
    return { status: 'ok', found, details };
  });

  const checks = await runChecks(spec, env, options.interfaces ?? osInterfaces);
  return finish({
    node: {
      name: spec.nodeName,
      role: spec.role,
      datacenter: spec.datacenter,
      address: checks.address,
    },
    spec: { source: traced.origin, valid: true, problems: [], values },
    checks: [specCheck, valuesCheck, ...checks.list],
    specValid: true,
    secrets: secretValues(spec),
  });
}

function describeSpec(spec: NodeSpec, source: string): string {
  const sidecars = spec.services.filter((s) => s.sidecar).length;
  return (
    `valid (${source}): ${plural(spec.services.length, 'service')} (${plural(sidecars, 'sidecar')}), ` +
    `${plural(spec.gateways.length, 'gateway')}, ${plural(spec.configEntries.length, 'config entry', 'config entries')}`
  );
}

async function runChecks(
  spec: NodeSpec,
  env: NodeJS.ProcessEnv,
  interfaces: InterfaceReader,
): Promise<{ list: Check[]; address: string | null }> {
  const local = localAddresses(interfaces);

  // Independent of everything else: the binaries, whether this node already runs, the address.
  const consulBinary = checkConsulBinary(spec, env);
  const envoyBinary = checkEnvoyBinary(spec, env);
  const consulCheck = timed(
    'binary.consul',
    'binaries',
    'consul',
    async () => (await consulBinary).result,
  );
  const envoyCheck = timed(
    'binary.envoy',
    'binaries',
    'envoy',
    async () => (await envoyBinary).result,
  );
  const nodeRunning = runningNode(spec);
  const addressCheck = checkAddress(spec, env, interfaces);
  const addressTimed = timed(
    'address',
    'address',
    'node address',
    async () => (await addressCheck).result,
  );
  const address = (await addressCheck).address;

  const dataCheck = timed('files.data', 'files', 'data dir', () => checkDataDir(spec));
  const configCheck = timed('files.config', 'files', 'config dir', () =>
    checkConfigDir(spec, address),
  );
  const tlsCheck = spec.consul.tls
    ? [timed('files.tls', 'files', 'TLS files', () => checkTlsFiles(spec))]
    : [];
  // Join addresses of this machine are not dialled (checkJoinEntry), so these never reach the
  // port probes below.
  const joinChecks = spec.consul.retryJoin.map((entry, i) =>
    timed(`join.${i}`, 'join', entry, () => checkJoinEntry(entry, serfLanPort(spec), local)),
  );

  // Consul's HTTP APIs (what they answer feeds the Envoy support, token and clock checks).
  const probesStarted = performance.now();
  const probes = await probeAgents(spec, address, local);
  const apiCheck = await timed('consul.api', 'consul', 'Consul HTTP API', () =>
    checkConsulApi(spec, probes),
  );
  apiCheck.durationMs = Math.round(performance.now() - probesStarted);

  // Ports after the probes: while a port is bound for a moment, a probe dialling this machine
  // (its own agent) would reach that probe listener instead.
  const consulLine = (await consulBinary).info.version ?? spec.consul.version;
  const running = await nodeRunning;
  const portChecks = await Promise.all(
    portGroups({ spec, address, consulLine: consulLine ? line(consulLine) : undefined }).map(
      (group) => timed(group.id, 'ports', group.title, () => checkPortGroup(group, running)),
    ),
  );

  const support: AgentSupport[] = probes.flatMap((p) =>
    p.self?.envoy ? [{ addr: p.addr, consulVersion: p.self.version, envoy: p.self.envoy }] : [],
  );
  const pairCheck = timed('binary.pair', 'binaries', 'consul + envoy', async () =>
    checkPair(spec, (await consulBinary).info, (await envoyBinary).info, support),
  );

  const aclChecks: Promise<Check>[] = [];
  if (!spec.consul.acl?.enabled) {
    aclChecks.push(timed('acl', 'acl', 'ACLs', () => checkAclOff(spec, probes)));
  } else {
    const agent = aclAgent(spec, probes);
    const agreement = await timed('acl', 'acl', 'ACLs', () => checkAclAgreement(spec, agent));
    aclChecks.push(Promise.resolve(agreement));
    const canAsk = agent && agent.leader;
    if (canAsk) {
      const resolutions = new Map<string, ReturnType<typeof resolveToken>>();
      for (const need of tokenNeeds(spec)) {
        aclChecks.push(
          timed(need.id, 'acl', need.title, () => checkToken(spec, need, agent, resolutions)),
        );
      }
    }
  }
  const clockCheck = timed('clock', 'clock', 'clock', () => checkClock(probes, local));

  const list = await Promise.all([
    consulCheck,
    envoyCheck,
    pairCheck,
    addressTimed,
    ...portChecks.map((c) => Promise.resolve(c)),
    dataCheck,
    configCheck,
    ...tlsCheck,
    ...joinChecks,
    Promise.resolve(apiCheck),
    ...aclChecks,
    clockCheck,
  ]);
  return { list, address };
}

/** This node's status URL when it answers /healthz (the node is running), else null. */
async function runningNode(spec: NodeSpec): Promise<string | null> {
  const url = listenUrl(spec.status.listen);
  try {
    const answer = await httpRequest(`${url}/healthz`, { timeoutMs: 1000 });
    return answer.status === 200 && answer.body.trim() === 'ok' ? url : null;
  } catch {
    return null;
  }
}

function finish(parts: {
  node: DoctorReport['node'];
  spec: DoctorReport['spec'];
  checks: Check[];
  specValid: boolean;
  secrets?: string[];
}): DoctorReport {
  const count = (s: Check['status']) => parts.checks.filter((c) => c.status === s).length;
  const summary = { ok: count('ok'), warn: count('warn'), fail: count('fail') };
  const report: DoctorReport = {
    format: REPORT_FORMAT,
    meshvisor: VERSION,
    exitCode: !parts.specValid ? 78 : summary.fail > 0 ? 1 : 0,
    summary,
    node: parts.node,
    spec: parts.spec,
    checks: parts.checks,
  };
  return redact(report, parts.secrets ?? []);
}

/**
 * A last guard: no secret value of the spec appears anywhere in the report, whatever a check
 * quoted (an agent's error text, a path). Secrets are short-circuited earlier; this only catches
 * what slipped through.
 */
function redact(report: DoctorReport, secrets: string[]): DoctorReport {
  return secrets.length === 0 ? report : redactStrings(report, secrets);
}
