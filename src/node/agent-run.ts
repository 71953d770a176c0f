// One run of the consul agent: from a spawn to the next. Whatever a bring-up learns about the
// agent it waits for lives here, so a consul restart starts from nothing instead of fields
// reset by hand: its abort signal and deadline, what the agent logged (ACL refusals, the last
// server it added, the lines that end a poll's backoff) and whether it reached READY.
import { LogWake, READINESS_STAGES, StageMemory } from '../consul/index.ts';
import type { ParsedLine } from '../supervise/index.ts';

/** The agent's log lines any readiness stage may wait for (LogWake counts only these). */
const WAKE_MESSAGES = new Set(READINESS_STAGES.flatMap((s) => s.wakeOn));

export class AgentRun {
  /** Aborted when this run is superseded (consul spawned again) or the node stops. */
  readonly signal: AbortSignal;
  /** Epoch ms: timeouts.readySeconds from this spawn. */
  readonly deadline: number;
  readonly memory = new StageMemory();
  /** Registrations the agent logged as refused by ACLs: service ID -> the refused accessor. */
  readonly aclRefusals = new Map<string, string>();
  /** The agent's log lines that end a readiness poll's backoff. */
  readonly log = new LogWake(WAKE_MESSAGES);
  /** When this agent last added a server ('adding server'): its next full sync is due. */
  serverAddedAt: number | null = null;
  /** True once this run reached READY: from then on a lost cluster is "degraded". */
  broughtUp = false;
  private readonly superseded = new AbortController();

  constructor(stopping: AbortSignal, readySeconds: number, now = Date.now()) {
    this.signal = AbortSignal.any([stopping, this.superseded.signal]);
    this.deadline = now + readySeconds * 1000;
  }

  /** consul spawned again: this run's waits end, and its bring-up gives way to the next. */
  supersede(): void {
    this.superseded.abort(new Error('consul restarted'));
  }

  /** Every line the agent logs passes here. */
  noteLine(line: ParsedLine): void {
    this.noteAclRefusal(line);
    if (line.msg === 'adding server') this.serverAddedAt = Date.now();
    this.log.saw(line.msg);
  }

  /**
   * "Service registration blocked by ACLs: service=users-1 accessorID=…" (recording 11): the
   * servers refused the token a service registers with. Right after a join the agent may log it
   * with an empty accessorID before its tokens resolve: only a resolved accessor is a refusal.
   */
  private noteAclRefusal(line: ParsedLine): void {
    if (line.msg !== 'Service registration blocked by ACLs') return;
    const service = line.fields?.service;
    const accessor = line.fields?.accessorID;
    if (typeof service === 'string' && typeof accessor === 'string' && accessor !== '') {
      this.aclRefusals.set(service, accessor);
    }
  }
}
