// THE SAME WORKLOAD for both supervisors. A node is a meshvisor spec; the supervisord side of it
// is derived from that very spec with meshvisor's own code: the agent config is rendered by
// renderNode (the file `meshvisor run` writes) and each sidecar's command line comes from
// planProxies (the argv meshvisor gives `consul connect envoy`). So both run the same consul
// double with the same config and the same Envoy commands; only the supervisor differs.
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { planProxies, type ProxyPlan } from '../../src/envoy/index.ts';
import { AGENT_CONFIG_FILE, renderNode, writeRenderedFiles } from '../../src/render/index.ts';
import { parseSpec, type NodeSpec } from '../../src/spec/index.ts';
import { testSpec } from '../../test/helpers/mesh-node.ts';
import { serverSpec, STOP_SECONDS } from '../../test/helpers/mesh-specs.ts';
import type { TestHost } from '../../test/helpers/netns.ts';
import type { Binaries } from './pin.ts';

/** Seconds each draining program (Envoy's graceful drain, or the stand-in) needs to stop. */
export const DRAIN_SECONDS = 2;

/** Each line of the log burst starts with this, so the bench can count relayed lines. */
export const LOG_MARKER = 'BENCHLINE';
/** The burst's line length, newline included. */
export const LOG_LINE_BYTES = 81;

/** A node of the workload: its spec as `meshvisor run` reads it, and everything derived. */
export interface PreparedNode {
  host: TestHost;
  /** The run's work folder: spec, rendered config, data dir, supervisord's files. */
  workDir: string;
  /** The pinned meshvisor bundle and doubles. */
  binaries: Binaries;
  /** The JSON spec file for `meshvisor run -c`. */
  specPath: string;
  spec: NodeSpec;
  /** The consul binary both supervisors run (the double, or the log-burst wrapper). */
  consulBinary: string;
  /** `consul agent -config-file <this>`: the file meshvisor renders, as the original setup ran. */
  agentConfigFile: string;
  proxies: ProxyPlan[];
  /** ENVOY_DOUBLE_EVENTS: every Envoy of this node appends its state changes here. */
  envoyEvents: string;
}

/**
 * A client with `sidecars` services, each with an Envoy sidecar, joining `server`. No health
 * checks and no demo apps: nothing runs beside the supervisor but its own programs, and readiness
 * (Envoy LIVE, the catalog) does not depend on them. No `protocol`, so no config entries either
 * (the original setup's `consul config write` is not part of this comparison).
 */
export function clientNodeSpec(
  binaries: Binaries,
  server: TestHost,
  nodeName: string,
  sidecars: number,
): Record<string, unknown> {
  return {
    datacenter: 'our_dc',
    role: 'client',
    nodeName,
    consul: { binary: binaries.consul, retryJoin: [server.ip] },
    services: Array.from({ length: sidecars }, (_, i) => ({
      name: `svc${i}`,
      id: `svc${i}-1`,
      port: 8080 + i,
      sidecar: {},
    })),
    proxy: { envoyBinary: binaries.envoy },
    timeouts: { readySeconds: 90, stopSeconds: STOP_SECONDS, drainSeconds: DRAIN_SECONDS },
  };
}

/** A lone server whose consul is `consulBinary`: the double, or the log-burst wrapper. */
export function loneServerSpec(nodeName: string, consulBinary: string): Record<string, unknown> {
  const server = serverSpec();
  return { ...server, nodeName, consul: { ...server.consul, binary: consulBinary } };
}

/**
 * Writes the spec file and the rendered agent config under `workDir`, and plans the proxies
 * exactly as src/node.ts does (same address, ports, envoy binary, admin ports, drain time).
 */
export async function prepareNode(
  host: TestHost,
  workDir: string,
  binaries: Binaries,
  document: Record<string, unknown>,
): Promise<PreparedNode> {
  const full = testSpec(host, workDir, document);
  const spec = parseSpec(full);
  const specPath = join(workDir, `${spec.nodeName}.json`);
  writeFileSync(specPath, JSON.stringify(full, null, 2));
  const rendered = renderNode(spec, host.ip);
  await writeRenderedFiles(rendered.files);
  const proxies = planProxies({
    address: host.ip,
    httpPort: spec.consul.ports.http,
    grpcPort: spec.consul.ports.grpc,
    mode: spec.proxy.mode,
    envoyBinaryPath: spec.proxy.envoyBinary,
    adminPortBase: spec.proxy.adminPortBase,
    drainSeconds: spec.timeouts.drainSeconds,
    sidecars: spec.services.filter((s) => s.sidecar).map((s) => ({ serviceId: s.id })),
    gateways: [],
  });
  return {
    host,
    workDir,
    binaries,
    specPath,
    spec,
    consulBinary: spec.consul.binary,
    agentConfigFile: join(spec.consul.configDir, AGENT_CONFIG_FILE),
    proxies,
    envoyEvents: join(workDir, `${spec.nodeName}-envoy-events.jsonl`),
  };
}

function writeScript(path: string, body: string): string {
  writeFileSync(path, `#!/bin/sh\n${body}`);
  chmodSync(path, 0o755);
  return path;
}

/**
 * A program that needs DRAIN_SECONDS to stop: on SIGTERM it sleeps, then exits 0. `wait` (not a
 * foreground sleep) so the trap runs at once, and the idle sleep is killed so nothing outlives it.
 */
export function writeDrainScript(workDir: string): string {
  return writeScript(
    join(workDir, 'drain.sh'),
    `trap 'kill "$idle" 2>/dev/null; sleep ${DRAIN_SECONDS}; exit 0' TERM\n` +
      `sleep 86400 & idle=$!\nwait "$idle"\n`,
  );
}

/**
 * A consul that first prints $BENCH_LOG_LINES lines as fast as `seq` can, then execs the consul
 * double: under both supervisors the burst is the output of their consul program. Each line is
 * LOG_LINE_BYTES long and different (a counter): meshvisor logs a run of identical lines once.
 */
export function writeBurstScript(workDir: string, consul: string): string {
  return writeScript(
    join(workDir, 'consul-burst.sh'),
    `seq -f '${LOG_MARKER} %0${LOG_LINE_BYTES - LOG_MARKER.length - 2}.0f' "$BENCH_LOG_LINES"\n` +
      `exec '${consul}' "$@"\n`,
  );
}
