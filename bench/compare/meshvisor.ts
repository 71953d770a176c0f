// The meshvisor side: `dist/meshvisor.mjs run -c <spec>` in the node's namespace, executed as the
// images run it (its shebang's node flags apply), read through its status endpoint (/readyz,
// /status, /metrics) and `meshvisor status`, as an orchestrator or an operator would.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { NodeStatus } from '../../src/status/model.ts';
import { STATUS_PORT } from '../../test/helpers/mesh-node.ts';
import {
  drainStdout,
  pollUntil,
  spawnSupervisor,
  type Exit,
  type ProgramView,
  type StdoutHandler,
  type Supervised,
} from './side.ts';
import type { PreparedNode } from './workload.ts';

const execFileAsync = promisify(execFile);

export class MeshvisorNode implements Supervised {
  readonly side = 'meshvisor';

  private gone = false;

  private constructor(
    readonly pid: number,
    readonly exited: Promise<Exit>,
    private readonly bundle: string,
    private readonly url: string,
  ) {
    void exited.then(() => (this.gone = true));
  }

  /** Starts `meshvisor run` at its default log level (info) and node flags, as in production. */
  static start(
    node: PreparedNode,
    env: NodeJS.ProcessEnv,
    onStdout: StdoutHandler = drainStdout,
  ): MeshvisorNode {
    const { pid, exited } = spawnSupervisor(
      node.host,
      node.binaries.bundle,
      ['run', '-c', node.specPath],
      { ...env, LOG_LEVEL: 'info' },
      onStdout,
      join(node.workDir, `${node.spec.nodeName}-stdout.fifo`),
    );
    const url = `http://${node.host.ip}:${STATUS_PORT}`;
    return new MeshvisorNode(pid, exited, node.binaries.bundle, url);
  }

  sidecarProgram(serviceId: string): string {
    return `sidecar:${serviceId}`;
  }

  async status(timeoutMs = 2000): Promise<NodeStatus> {
    const res = await fetch(`${this.url}/status`, { signal: AbortSignal.timeout(timeoutMs) });
    return (await res.json()) as NodeStatus;
  }

  async allUp(): Promise<boolean> {
    const res = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.status === 200;
  }

  /** /readyz polled every 20 ms: asking meshvisor changes nothing (its children wake it). */
  async untilAllUp(t0: number, execWall: number, timeoutMs: number): Promise<number> {
    const { ms } = await pollUntil(
      'meshvisor: READY',
      t0,
      timeoutMs,
      20,
      async () => ((await this.allUp()) ? true : undefined),
      this.exited,
    );
    return ms;
  }

  async program(name: string): Promise<ProgramView> {
    const program = (await this.status()).programs.find((p) => p.name === name);
    if (!program) throw new Error(`meshvisor has no program ${name}`);
    return { pid: program.pid, up: program.ready };
  }

  /** A fatal program ends the node (exit 1), so a node that is gone gave up too. */
  async gaveUp(name: string): Promise<boolean> {
    if (this.gone) return true;
    return (await this.status()).programs.find((p) => p.name === name)?.state === 'fatal';
  }

  async restarts(): Promise<number> {
    return (await this.status()).programs.reduce((sum, p) => sum + p.restarts, 0);
  }

  async apiStatus(): Promise<void> {
    await this.status();
  }

  /** `meshvisor status` exits 1 when the node is not ready: still an answer. */
  async cliStatus(): Promise<void> {
    await execFileAsync(this.bundle, ['status', '--url', this.url], {
      timeout: 10_000,
    }).catch((error: { code?: unknown }) => {
      if (error.code !== 1) throw error;
    });
  }

  async ping(timeoutMs: number): Promise<void> {
    await this.status(timeoutMs);
  }

  /** meshvisor_log_lines_dropped_total summed over the programs (from /metrics). */
  async droppedLogLines(): Promise<number> {
    const res = await fetch(`${this.url}/metrics`, { signal: AbortSignal.timeout(3000) });
    const text = await res.text();
    let sum = 0;
    for (const match of text.matchAll(/^meshvisor_log_lines_dropped_total(?:\{[^}]*\})? (\S+)$/gm))
      sum += Number(match[1]);
    return sum;
  }
}
