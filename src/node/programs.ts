// The node's programs as the supervisor runs them: `consul agent`, and one proxy per sidecar and
// gateway. Every value a reload may change (timeouts, the environment) is read from the node's
// current plan when it is used, not copied from the spec the program was first built with.
import type { ProxyPlan } from '../envoy/index.ts';
import { parseHclogLine, type ProgramSpec } from '../supervise/index.ts';
import type { RunningNode } from './context.ts';
import { proxyTokenHint } from '../consul/index.ts';
import { drainProxy, leaveCluster } from './stop.ts';

export function consulProgram(node: RunningNode): ProgramSpec {
  const isServer = node.spec().role === 'server';
  const timeouts = () => node.spec().timeouts;
  return {
    name: 'consul',
    command: node.consulPath,
    args: node.current.plan.rendered.agentArgs,
    // The agent reads its tokens and the gossip key from the 0600 file, nothing from here.
    get env() {
      return node.current.plan.childEnv;
    },
    restart: 'always',
    // Ready once its HTTP API answers at all: a run killed after that (kill -9, OOM) served and
    // is restarted at once; only runs that die before it count towards the crash-loop limit.
    readiness: {
      intervalMs: 100,
      get timeoutMs() {
        return timeouts().readySeconds * 1000;
      },
      probe: (signal) => node.client.answers(signal),
    },
    // A server leaves only through `consul leave` (it would shrink the quorum); on a plain
    // SIGTERM it exits 1 by design and stays a raft peer (contract §2).
    stopSignal: isServer ? 'SIGTERM' : 'SIGINT',
    get stopGraceMs() {
      return timeouts().stopSeconds * 1000;
    },
    parseLine: (line, stream) => {
      const parsed = parseHclogLine(line, stream);
      node.agentRun?.noteLine(parsed);
      return parsed;
    },
    stopTrigger: () => leaveCluster(node),
  };
}

export function proxyProgram(node: RunningNode, proxy: ProxyPlan): ProgramSpec {
  const admin = proxy.adminAddress ? node.deps.envoyAdmin(proxy.adminAddress) : null;
  const timeouts = () => node.spec().timeouts;
  return {
    name: proxy.name,
    command: node.consulPath,
    args: proxy.args,
    get env() {
      return {
        ...node.current.plan.childEnv,
        ...(proxy.token ? { CONSUL_HTTP_TOKEN: proxy.token } : {}),
      };
    },
    // With ACLs, `consul connect envoy` that cannot see its proxy says "No sidecar proxy
    // registered" (the list is filtered, not denied: recording 11, fact 9), not 403.
    get failureHint() {
      return node.spec().consul.acl?.enabled ? proxyTokenHint(node.spec(), proxy) : undefined;
    },
    restart: 'always',
    dependsOn: ['consul'],
    get stopGraceMs() {
      return timeouts().stopSeconds * 1000;
    },
    readiness: {
      intervalMs: 250,
      get timeoutMs() {
        return timeouts().readySeconds * 1000;
      },
      probe: admin
        ? (signal) => admin.isServing(proxy.readyListenerPrefix, signal)
        : () => builtinProxyListening(node, proxy.serviceId),
    },
    stopTrigger: admin ? (release) => drainProxy(node, proxy, admin, release) : undefined,
  };
}

/** The built-in proxy is ready when its public listener (the sidecar's port) accepts TCP. */
async function builtinProxyListening(node: RunningNode, serviceId: string): Promise<boolean> {
  try {
    const services = await node.client.services();
    const port = services[`${serviceId}-sidecar-proxy`]?.Port;
    return port !== undefined && (await node.deps.acceptsTcp('127.0.0.1', port));
  } catch {
    return false;
  }
}
