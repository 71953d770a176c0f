export { adminGone, EnvoyAdmin, ListenerRejectedError } from './admin.ts';
export type { DrainScope, EnvoyCertificate, EnvoyCluster, RejectedListener } from './admin.ts';
export { envoyAdminPorts, envoyProgramNames, needsEnvoy, planProxies } from './commands.ts';
export type { ProxyPlan, ProxyPlanInput } from './commands.ts';
export { envoyPair, parseEnvoyVersion, NAME_LOOKUP_GUARD } from './compat.ts';
export type { EnvoyPair } from './compat.ts';
