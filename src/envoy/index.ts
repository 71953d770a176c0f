export { EnvoyAdmin } from './admin.ts';
export { planProxies } from './commands.ts';
export type { ProxyPlan, ProxyPlanInput } from './commands.ts';
