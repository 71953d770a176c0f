// The process supervisor: programs (children with restart, readiness, ordered stop and
// process-tree kill), the supervisor over them, log relay, and PID 1 checks. It knows programs,
// not Consul.
export type {
  ExitInfo,
  LogLevel,
  OutputStream,
  ParsedLine,
  ProgramSnapshot,
  ProgramSpec,
  ProgramState,
  RestartPolicy,
} from './types.ts';
export { Program } from './program.ts';
export { Supervisor } from './supervisor.ts';
export { parseHclogLine } from './hclog.ts';
export { parseOutputLine } from './log-relay.ts';
export { countZombieChildren, warnIfPid1WithoutInit } from './pid1.ts';
export { findExecutable } from './which.ts';
export { queryVersion, VERSION_QUERY_TIMEOUT_MS, type QueryOutcome } from './version-query.ts';
