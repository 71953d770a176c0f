// A set of programs with dependencies: started in dependency order (each once its dependencies
// are READY), stopped in reverse order level by level inside one deadline.
import { EventEmitter } from 'node:events';
import type { Logger } from '../log.ts';
import { Program } from './program.ts';
import type { ProgramSnapshot, ProgramSpec } from './types.ts';

export class Supervisor extends EventEmitter {
  readonly #logger: Logger;
  readonly #programs = new Map<string, Program>();
  #stopping: Promise<void> | null = null;

  constructor(options: { logger: Logger }) {
    super();
    this.#logger = options.logger;
  }

  /** Registers a program (not started). Names are unique. */
  add(spec: ProgramSpec): Program {
    if (this.#programs.has(spec.name)) throw new Error(`program ${spec.name} already exists`);
    const program = new Program(spec, { logger: this.#logger });
    program.on('state', (snapshot: ProgramSnapshot) => this.emit('state', snapshot));
    program.on('fatal', (reason: string) => this.emit('fatal', program.name, reason));
    this.#programs.set(spec.name, program);
    return program;
  }

  /**
   * Stops a program as a stop would (its stopTrigger, then the grace) and forgets it: a node
   * reload removing a sidecar. Programs that depend on it must be removed first.
   */
  async remove(name: string, graceMs?: number): Promise<void> {
    const program = this.#programs.get(name);
    if (!program) return;
    const dependents = [...this.#programs.values()].filter((p) => p.spec.dependsOn?.includes(name));
    if (dependents.length > 0) {
      throw new Error(`${name} is a dependency of ${dependents.map((p) => p.name).join(', ')}`);
    }
    program.holdRestarts();
    await program.stop(graceMs === undefined ? {} : { graceMs });
    program.removeAllListeners();
    this.#programs.delete(name);
  }

  get(name: string): Program | undefined {
    return this.#programs.get(name);
  }

  snapshot(): ProgramSnapshot[] {
    return [...this.#programs.values()].map((p) => p.snapshot());
  }

  /**
   * Starts the named programs (default: every one never started), each after its dependencies
   * are ready; dependencies not started yet are started too. Resolves when all are ready;
   * rejects when one of them (or a dependency) fails for good, is stopped, or on abort.
   */
  async start(names?: string[], signal?: AbortSignal): Promise<void> {
    if (this.#stopping) throw new Error('the supervisor is stopping');
    const targets =
      names ?? [...this.#programs.values()].filter((p) => p.state === 'stopped').map((p) => p.name);
    this.#checkGraph(targets);
    const started = new Map<string, Promise<void>>();
    const readyOf = (name: string): Promise<void> => {
      let promise = started.get(name);
      if (!promise) {
        const program = this.#programs.get(name)!;
        promise = (async () => {
          await Promise.all((program.spec.dependsOn ?? []).map(readyOf));
          signal?.throwIfAborted();
          if (this.#stopping) throw new Error('the supervisor is stopping');
          // A target is (re)started; a dependency only if it never ran, not if it failed.
          if (targets.includes(name) || program.state === 'stopped') program.start();
          await program.whenReady(signal);
        })();
        started.set(name, promise);
      }
      return promise;
    };
    const all = targets.map(readyOf);
    // Every promise gets a handler, so a second failure is not an unhandled rejection.
    await Promise.all([...started.values()].map((p) => p.catch(() => {})));
    await Promise.all(all);
  }

  /**
   * Stops every program in reverse dependency order, the programs of one level in parallel,
   * each with the time left until the deadline as its grace; a level starts once the one
   * before has exited or released it (ProgramSpec.stopTrigger). A second call kills everything.
   */
  stop(options: { deadlineMs: number }): Promise<void> {
    if (this.#stopping) {
      this.#logger.warn('second stop request: killing every program now');
      const stopping = this.#stopping;
      return this.kill().then(() => stopping);
    }
    this.#stopping = this.#stopInOrder(Date.now() + options.deadlineMs);
    return this.#stopping;
  }

  /** SIGKILLs every program's process tree now. */
  async kill(): Promise<void> {
    const programs = [...this.#programs.values()];
    for (const program of programs) program.holdRestarts();
    await Promise.all(programs.map((p) => p.kill()));
  }

  async #stopInOrder(deadline: number): Promise<void> {
    const programs = [...this.#programs.values()];
    for (const program of programs) program.holdRestarts();
    const stops: Promise<unknown>[] = [];
    for (const level of this.#stopLevels()) {
      this.#logger.info({ programs: level.map((p) => p.name) }, 'stopping');
      stops.push(...level.map((p) => p.stop({ graceMs: Math.max(0, deadline - Date.now()) })));
      // The next level (their dependencies) begins once each of these has exited, or released
      // them while it finishes (an Envoy with its listeners closed still serving what it has).
      await Promise.all(level.map((p) => p.whenReleased()));
    }
    await Promise.all(stops);
  }

  /** Programs grouped by dependency depth, deepest (most dependent) first. */
  #stopLevels(): Program[][] {
    const depths = new Map<string, number>();
    const depthOf = (program: Program, seen: Set<string>): number => {
      const known = depths.get(program.name);
      if (known !== undefined) return known;
      seen.add(program.name);
      let depth = 0;
      for (const dep of program.spec.dependsOn ?? []) {
        const parent = this.#programs.get(dep);
        if (parent && !seen.has(dep)) depth = Math.max(depth, depthOf(parent, seen) + 1);
      }
      depths.set(program.name, depth);
      return depth;
    };
    const levels: Program[][] = [];
    for (const program of this.#programs.values()) {
      const depth = depthOf(program, new Set());
      (levels[depth] ??= []).push(program);
    }
    return levels.filter(Boolean).reverse();
  }

  /** Throws on an unknown program or dependency, or a dependency cycle, before anything starts. */
  #checkGraph(names: string[]): void {
    const visiting = new Set<string>();
    const done = new Set<string>();
    const visit = (name: string, path: string[]) => {
      if (done.has(name)) return;
      const program = this.#programs.get(name);
      if (!program) {
        const via = path.length > 0 ? ` (a dependency of ${path.at(-1)})` : '';
        throw new Error(`unknown program ${name}${via}`);
      }
      if (visiting.has(name)) throw new Error(`dependency cycle: ${[...path, name].join(' -> ')}`);
      visiting.add(name);
      for (const dep of program.spec.dependsOn ?? []) visit(dep, [...path, name]);
      visiting.delete(name);
      done.add(name);
    };
    for (const name of names) visit(name, []);
  }
}
