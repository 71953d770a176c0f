// consul and envoy: found, runnable, their versions, and whether the pair is supported. The only
// programs doctor ever runs are these two version queries (`consul version`, `envoy --version`):
// they print a version and exit; the node's programs (`consul agent`, `consul connect ...`) are
// never started.
import { envoyPair, NAME_LOOKUP_GUARD, needsEnvoy, parseEnvoyVersion } from '../envoy/index.ts';
import { findExecutable, queryVersion } from '../supervise/index.ts';
import { withoutSecrets, type NodeSpec } from '../spec/index.ts';
import type { CheckResult } from './check.ts';
import {
  ENVOY_CHECK_SINCE,
  ENVOY_LINES_BY_CONSUL,
  line,
  lineAtLeast,
  OLDEST_CONSUL_LINE,
  renderedLine,
  VERSIONED_KEYS,
  type VersionedKey,
} from '../consul/index.ts';

export interface BinaryInfo {
  /** The resolved path, or null when not found (or not needed). */
  path: string | null;
  /** "1.10.12", or null when unknown. */
  version: string | null;
}

export interface BinaryCheck {
  result: CheckResult;
  info: BinaryInfo;
}

/** The environment of a version query: ours less what `run` keeps from its children. */
export const versionQueryEnv = withoutSecrets;

function notFound(nameOrPath: string, field: string, what: string): BinaryCheck {
  const where = nameOrPath.includes('/') ? '' : ' on PATH';
  return {
    info: { path: null, version: null },
    result: {
      status: 'fail',
      found: `${field} "${nameOrPath}" is not an executable file${where}`,
      fix: `install ${what}, or set ${field} to its path (the images have it in /usr/local/bin)`,
    },
  };
}

/** The rendered key names that depend on consul.version (src/render/agent.ts), for this spec. */
function versionedKeys(spec: NodeSpec): VersionedKey[] {
  const tokens = spec.consul.acl?.tokens;
  return [
    ...(tokens?.initialManagement ? [VERSIONED_KEYS.initialManagement] : []),
    ...(tokens?.agentRecovery ? [VERSIONED_KEYS.agentRecovery] : []),
    ...(spec.consul.tls ? [VERSIONED_KEYS.tlsDefaults] : []),
  ];
}

export async function checkConsulBinary(
  spec: NodeSpec,
  env: NodeJS.ProcessEnv,
): Promise<BinaryCheck> {
  const path = findExecutable(spec.consul.binary, env.PATH ?? '');
  if (!path) return notFound(spec.consul.binary, 'consul.binary', 'consul');
  const query = await queryVersion(path, ['version'], versionQueryEnv(spec, env));
  const version = /Consul v(\d+\.\d+\.\d+)/.exec(query.output ?? '')?.[1] ?? null;
  if (!version) {
    return {
      info: { path, version: null },
      result: {
        status: 'fail',
        found: `${path}: \`consul version\` ${query.problem ?? 'printed no "Consul vX.Y.Z"'}`,
        fix: 'consul.binary must be a Consul binary for this machine',
      },
    };
  }
  const info = { path, version };
  const found = `Consul ${version} at ${path}`;
  const binaryLine = line(version) ?? version;
  if (!lineAtLeast(binaryLine, OLDEST_CONSUL_LINE)) {
    return {
      info,
      result: {
        status: 'fail',
        found,
        fix: `meshvisor renders the agent config for Consul ${OLDEST_CONSUL_LINE} and later: use a newer consul`,
      },
    };
  }
  const specLine = renderedLine(spec.consul.version);
  const said = spec.consul.version
    ? `consul.version says ${spec.consul.version}`
    : `consul.version is not set (meshvisor renders for ${OLDEST_CONSUL_LINE})`;
  const crossed = versionedKeys(spec).filter(
    (k) => lineAtLeast(specLine, k.since) !== lineAtLeast(binaryLine, k.since),
  );
  const newer = crossed.filter((k) => lineAtLeast(specLine, k.since));
  if (newer.length > 0) {
    return {
      info,
      result: {
        status: 'fail',
        found: `${found}; ${said}, so meshvisor renders ${newer.map((k) => k.key).join(', ')}, which Consul ${binaryLine} does not know (an unknown key stops the agent)`,
        fix: `set consul.version: "${binaryLine}", or use a consul of ${specLine} or later`,
      },
    };
  }
  if (crossed.length > 0) {
    return {
      info,
      result: {
        status: 'warn',
        found: `${found}; ${said}, so meshvisor renders the old names of ${crossed.map((k) => k.key).join(', ')}, which Consul ${binaryLine} accepts as deprecated`,
        fix: `set consul.version: "${binaryLine}"`,
      },
    };
  }
  return { info, result: { status: 'ok', found: `${found} (\`consul version\`)` } };
}

export async function checkEnvoyBinary(
  spec: NodeSpec,
  env: NodeJS.ProcessEnv,
): Promise<BinaryCheck> {
  if (!needsEnvoy(spec)) {
    return {
      info: { path: null, version: null },
      result: {
        status: 'ok',
        found:
          spec.proxy.mode === 'builtin'
            ? 'not needed: proxy.mode builtin and no gateways'
            : 'not needed: no sidecars and no gateways',
      },
    };
  }
  const path = findExecutable(spec.proxy.envoyBinary, env.PATH ?? '');
  if (!path) return notFound(spec.proxy.envoyBinary, 'proxy.envoyBinary', 'Envoy');
  const query = await queryVersion(path, ['--version'], versionQueryEnv(spec, env));
  const version = parseEnvoyVersion(query.output ?? '');
  if (!version) {
    return {
      info: { path, version: null },
      result: {
        status: 'fail',
        found: `${path}: \`envoy --version\` ${query.problem ?? 'printed no "version: <sha>/X.Y.Z"'}`,
        fix: 'proxy.envoyBinary must be an Envoy binary for this machine',
      },
    };
  }
  return {
    info: { path, version },
    result: { status: 'ok', found: `Envoy ${version} at ${path} (\`envoy --version\`)` },
  };
}

/** What a running agent says it supports (`/v1/agent/self` `xDS.SupportedProxies.envoy`). */
export interface AgentSupport {
  addr: string;
  consulVersion: string;
  envoy: string[];
}

export function checkPair(
  spec: NodeSpec,
  consul: BinaryInfo,
  envoy: BinaryInfo,
  agents: AgentSupport[],
): CheckResult {
  if (!needsEnvoy(spec)) return { status: 'ok', found: 'not needed: no Envoy runs on this node' };
  if (!consul.version || !envoy.version) {
    return {
      status: 'warn',
      found: `not checked: the ${consul.version ? 'Envoy' : 'Consul'} version is unknown (above)`,
    };
  }
  const consulLine = line(consul.version) ?? consul.version;
  const envoyLine = line(envoy.version) ?? envoy.version;
  const agent = agents.find((a) => a.consulVersion === consul.version);
  let supported: string[] | undefined;
  let source: string;
  if (agent) {
    supported = [...new Set(agent.envoy.map((v) => line(v) ?? v))];
    source = `xDS.SupportedProxies of the Consul ${agent.consulVersion} agent at ${agent.addr}`;
  } else {
    supported = ENVOY_LINES_BY_CONSUL[consulLine]?.slice();
    source = `the matrix in docs/images.md`;
  }
  const pair = `Consul ${consul.version} with Envoy ${envoy.version}`;
  // What the pair needs before any list of supported versions matters (src/envoy/compat.ts).
  const needs = envoyPair(consulLine, envoy.version);
  if (needs.needs === 'another-envoy') {
    return { status: 'fail', found: `${pair}: cannot serve http`, fix: needs.problem };
  }
  if (needs.needs === 'name-lookup' && !supported?.includes(envoyLine)) {
    return {
      status: 'warn',
      found: `${pair}: outside what Consul ${consulLine} lists (${supported?.join(', ') ?? 'unknown'}); \`run\` gives Envoy ${NAME_LOOKUP_GUARD}=false, which served http here with Consul 1.10.12 and Envoy 1.36.4`,
      fix: `an Envoy Consul ${consulLine} lists needs no override, if one is available for this machine`,
    };
  }
  if (!supported) {
    return {
      status: 'warn',
      found: `${pair}: Consul ${consulLine} is not in the matrix of docs/images.md and no running Consul ${consul.version} agent answered`,
      fix: `check \`curl -s <agent>:8500/v1/agent/self | jq .xDS.SupportedProxies\` on a running Consul ${consulLine}`,
    };
  }
  if (supported.includes(envoyLine)) {
    return {
      status: 'ok',
      found: `${pair}: supported (Envoy ${supported.join(', ')}; from ${source})`,
    };
  }
  const refuses = lineAtLeast(consulLine, ENVOY_CHECK_SINCE)
    ? '; `consul connect envoy` refuses it, so no proxy starts'
    : '';
  return {
    status: 'fail',
    found: `${pair}: not supported (Consul ${consulLine} supports Envoy ${supported.join(', ')}; from ${source})${refuses}`,
    fix: `use an Envoy of ${supported[0]} (proxy.envoyBinary), or the Consul line that supports Envoy ${envoyLine} (docs/images.md)`,
  };
}
