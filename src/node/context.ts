// What the chapters of a node's life share: the outside world they act on (injected, so the
// lifecycle runs on fakes in unit tests), the node's current plan, and how its life ends.
import { ConsulClient, answeringJoinEntries, type ConsulApi } from '../consul/index.ts';
import type { ConsulClientOptions } from '../consul/index.ts';
import { EnvoyAdmin, parseEnvoyVersion } from '../envoy/index.ts';
import { ExitCode, ExitError } from '../exit.ts';
import type { MeshEnvoy, MeshInspector } from '../inspect/index.ts';
import type { Logger } from '../log.ts';
import { acceptsTcp } from '../net/index.ts';
import type { NodeSpec } from '../spec/index.ts';
import type { StatusServer } from '../status/index.ts';
import {
  Supervisor,
  countZombieChildren,
  findExecutable,
  queryVersion,
  type ProgramSnapshot,
  type ProgramSpec,
  type ProgramState,
} from '../supervise/index.ts';
import type { AgentRun } from './agent-run.ts';
import type { EnvoyBinary } from './envoy-binary.ts';
import type { NodePlan } from './plan.ts';
import type { NodeStatusBoard } from './status-board.ts';

/** A supervised program as the node sees it. */
export interface SupervisedProgram {
  readonly spec: ProgramSpec;
  readonly state: ProgramState;
  on(event: 'spawn', listener: () => void): unknown;
}

/** The supervisor's calls the node makes (src/supervise's Supervisor). */
export interface NodeSupervisor {
  add(spec: ProgramSpec): SupervisedProgram;
  get(name: string): SupervisedProgram | undefined;
  start(names?: string[], signal?: AbortSignal): Promise<void>;
  remove(name: string, graceMs?: number): Promise<void>;
  stop(options: { deadlineMs: number }): Promise<void>;
  kill(): Promise<void>;
  snapshot(): ProgramSnapshot[];
  on(event: 'fatal', listener: (name: string, reason: string) => void): unknown;
  on(event: 'state', listener: (snapshot: ProgramSnapshot) => void): unknown;
}

/** Envoy's admin calls a proxy program needs: its readiness, and the drain of a stop. */
export type ProxyAdmin = Pick<EnvoyAdmin, 'isServing' | 'drain' | 'quit'>;

/** Where the node meets processes, Consul, Envoy and signals. */
export interface NodeDeps {
  supervisor: (logger: Logger) => NodeSupervisor;
  consulClient: (options: ConsulClientOptions) => ConsulApi;
  envoyAdmin: (address: string) => ProxyAdmin;
  /** The reads of the mesh view, on an Envoy's admin API. */
  envoyReader: (address: string) => MeshEnvoy;
  /** The join addresses that accept TCP now (a client joins them with `-join` on its first run). */
  answeringJoins: (spec: NodeSpec, timeoutMs: number) => Promise<string[]>;
  /** The built-in proxy's readiness: something accepts TCP at host:port. */
  acceptsTcp: (host: string, port: number) => Promise<boolean>;
  findExecutable: (nameOrPath: string) => string | null;
  /** `envoy --version`'s version ("1.36.4"), or null when it did not say. */
  envoyVersion: (path: string, env: NodeJS.ProcessEnv) => Promise<string | null>;
  countZombies: () => number;
  /** SIGTERM, SIGINT and SIGHUP arrive here (the process, outside tests). */
  signals: Pick<NodeJS.Process, 'on' | 'off'>;
}

export const realDeps: NodeDeps = {
  supervisor: (logger) => new Supervisor({ logger }),
  consulClient: (options) => new ConsulClient(options),
  envoyAdmin: (address) => new EnvoyAdmin(address),
  envoyReader: (address) => new EnvoyAdmin(address),
  answeringJoins: answeringJoinEntries,
  acceptsTcp,
  findExecutable: (nameOrPath) => findExecutable(nameOrPath),
  envoyVersion: async (path, env) =>
    parseEnvoyVersion((await queryVersion(path, ['--version'], env)).output ?? ''),
  countZombies: countZombieChildren,
  signals: process,
};

/** Why the node's life ended, and so its exit code. */
export type Outcome =
  { kind: 'stop'; signal: string } | { kind: 'fatal'; message: string; exitCode: ExitCode };

/** The end of a node's life: settled once, by a signal, a fatal program, a stage or setup. */
export class Ending {
  readonly outcome: Promise<Outcome>;
  private settle!: (outcome: Outcome) => void;
  private ended = false;
  /** Aborted when the node stops: ends setup waits, every bring-up and every reload. */
  private readonly stopping = new AbortController();

  constructor() {
    this.outcome = new Promise((resolve) => (this.settle = resolve));
  }

  get signal(): AbortSignal {
    return this.stopping.signal;
  }

  get settled(): boolean {
    return this.ended;
  }

  end(outcome: Outcome): void {
    if (this.ended) return;
    this.ended = true;
    this.settle(outcome);
    this.stopping.abort(new Error('stop requested'));
  }

  fail(message: string, exitCode: ExitCode): void {
    this.end({ kind: 'fatal', message, exitCode });
  }
}

/** What the node runs now: a reload replaces it whole. */
export interface Current {
  plan: NodePlan;
  /** 1 at start, one more for each reload that applied. */
  generation: number;
}

/** Everything a node has from its first moment, before its address or plan are known. */
export interface NodeShared {
  readonly logger: Logger;
  readonly deps: NodeDeps;
  readonly board: NodeStatusBoard;
  readonly supervisor: NodeSupervisor;
  readonly ending: Ending;
  /** The spec the node runs: the current plan's once there is one. */
  spec(): NodeSpec;
  /** The status endpoint, once it listens (setup may start it late: its address not up yet). */
  statusServer: StatusServer | null;
}

/** A node past setup: its address, plan, Consul client and consul program are known. */
export interface RunningNode extends NodeShared {
  readonly address: string;
  readonly client: ConsulApi;
  readonly consulPath: string;
  /** The Envoy once a plan ran one (a reload may find it first). */
  envoy: EnvoyBinary | undefined;
  current: Current;
  /** The running agent's bring-up state; a consul spawn replaces it. */
  agentRun: AgentRun | null;
  /** Alive LAN members, from the last cluster view (null before one, or when it failed). */
  lanMembers: number | null;
  /** The mesh view (src/inspect), once it runs. */
  mesh: MeshInspector | null;
}

/** The path of an executable, or a one-line error naming the spec field (exit 69). */
export function requireExecutable(
  deps: Pick<NodeDeps, 'findExecutable'>,
  nameOrPath: string,
  field: string,
): string {
  const path = deps.findExecutable(nameOrPath);
  if (!path) {
    throw new ExitError(
      `${field}: "${nameOrPath}" is not an executable file${nameOrPath.includes('/') ? '' : ' on PATH'}`,
      ExitCode.unavailable,
    );
  }
  return path;
}
