export { ConsulClient, ConsulError } from './client.ts';
export type { AgentService, AgentSelf, Member, ConsulClientOptions } from './client.ts';
export { pollUntil, NotYet, StageError, isRetryable } from './poll.ts';
export type { PollOptions } from './poll.ts';
export { READINESS_STAGES, StageMemory } from './readiness.ts';
export type { ReadinessStage, ReadinessTarget } from './readiness.ts';
export { applyConfigEntry, entryMatches } from './config-entries.ts';
export type { ConfigEntryBody, ConfigEntryOutcome } from './config-entries.ts';
