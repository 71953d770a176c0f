// Setup: everything before consul runs.
//   preflight (every binary there) -> status endpoint -> the node's address -> the plan and its
//   rendered files -> the Consul client -> which join addresses answer now.
// Nothing is started unless all of it succeeded; a failure is one line with its exit code.
import { ExitCode, ExitError } from '../exit.ts';
import { needsEnvoy } from '../envoy/index.ts';
import { AddressError, discoverAddress } from '../net/index.ts';
import { writeRenderedFiles } from '../render/index.ts';
import { apiToken } from '../spec/index.ts';
import { startStatusServer, type ReloadStatus, type StatusServer } from '../status/index.ts';
import { requireExecutable, type NodeShared, type RunningNode } from './context.ts';
import { resolveEnvoy } from './envoy-binary.ts';
import { planNode } from './plan.ts';
import { timedStage } from './stages.ts';

/** How long a join address may take to accept TCP before the agent starts without `-join`. */
const JOIN_PROBE_TIMEOUT_MS = 500;

export interface SetupHooks {
  /** The stages READY requires now (the plan's, once there is one). */
  requiredStages: () => readonly string[];
  /** POST /reload on the status endpoint. */
  reload: () => Promise<ReloadStatus>;
}

export interface SetUpNode {
  node: RunningNode;
  /** Servers that accept TCP now: a client joins them at once (`-join`) on its first run. */
  joinFirst: string[];
}

export async function setUp(shared: NodeShared, hooks: SetupHooks): Promise<SetUpNode> {
  const { logger, board, deps, ending } = shared;
  const spec = shared.spec();
  // Preflight: nothing starts unless every binary is there.
  const consulPath = requireExecutable(deps, spec.consul.binary, 'consul.binary');
  const envoyPath = needsEnvoy(spec)
    ? requireExecutable(deps, spec.proxy.envoyBinary, 'proxy.envoyBinary')
    : undefined;
  // Envoy is asked its version meanwhile: the plan needs it, nothing before the plan does.
  const envoyLookup = envoyPath ? resolveEnvoy(shared, spec, envoyPath) : undefined;
  envoyLookup?.catch(() => {}); // awaited below (a stop may end setup before that)

  // The status endpoint answers from the first moment, so a long address wait can be read.
  // Its listen address may be the node's own, not up yet: then it starts once that is known.
  shared.statusServer = await startStatusEndpoint(shared, hooks, { addressPending: true });

  const address = await timedStage(shared, 'address', ending.signal, () =>
    discoverAddress(spec.address, {
      signal: ending.signal,
      onWait: (message) => {
        board.stageWaiting('address', message);
        logger.info({ stage: 'address' }, message);
      },
    }).catch((err: unknown) => {
      if (!(err instanceof AddressError)) throw err;
      throw new ExitError(
        `address: ${err.message}`,
        err.kind === 'config' ? ExitCode.config : ExitCode.unavailable,
      );
    }),
  );
  board.setAddress(address);
  logger.info({ address }, 'node address');

  const envoy = await envoyLookup;
  const plan = planNode(spec, address, { envoy });
  await writeRenderedFiles(plan.rendered.files);
  const generation = 1;
  board.setSpec(plan.hash, generation);
  logger.info({ files: plan.rendered.files.map((f) => f.path) }, 'agent config rendered');

  shared.statusServer ??= await startStatusEndpoint(shared, hooks, { addressPending: false });

  const client = deps.consulClient({
    httpAddr: `${address}:${spec.consul.ports.http}`,
    token: apiToken(spec),
  });
  // A client that reaches a server now joins it before its agent starts syncing, and is in
  // the catalog at once instead of after anti-entropy's random stagger of up to 3 s
  // (recording 13). First run only: `-join` exits 1 when nothing joins; restarts have
  // retry_join (and serf's snapshot).
  const joinFirst =
    spec.role === 'client' ? await deps.answeringJoins(spec, JOIN_PROBE_TIMEOUT_MS) : [];
  const node: RunningNode = Object.assign(shared, {
    address,
    client,
    consulPath,
    envoy,
    current: { plan, generation },
    agentRun: null,
    lanMembers: null,
    mesh: null,
  });
  return { node, joinFirst };
}

async function startStatusEndpoint(
  node: NodeShared,
  hooks: SetupHooks,
  opts: { addressPending: boolean },
): Promise<StatusServer | null> {
  const { listen } = node.spec().status;
  try {
    return await startStatusServer({
      listen,
      getStatus: (fresh) => node.board.snapshot(hooks.requiredStages(), { fresh }),
      onReload: hooks.reload,
      logger: node.logger,
    });
  } catch (err) {
    const code = ((err as Error).cause as NodeJS.ErrnoException | undefined)?.code;
    if (!opts.addressPending || code !== 'EADDRNOTAVAIL') throw err;
    node.logger.info(
      { listen },
      'status endpoint: its address is not up yet; listening once it is',
    );
    return null;
  }
}
