export { EnvoyAdmin } from './admin.ts';
export { envoyAdminPorts, envoyProgramNames, needsEnvoy, planProxies } from './commands.ts';
export type { ProxyPlan, ProxyPlanInput } from './commands.ts';
