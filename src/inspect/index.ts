export { MeshInspector } from './inspector.ts';
export type { InspectorOptions, MeshConsul, MeshEnvoy } from './inspector.ts';
export { meshTargets } from './targets.ts';
export type { MeshTargets, UpstreamTarget } from './targets.ts';
export type { Clock } from './watch.ts';
