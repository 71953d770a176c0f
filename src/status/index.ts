// The status endpoint: server, metrics and the NodeStatus contract it serializes.
export { startStatusServer } from './server.ts';
export type { StatusServer, StatusServerOptions } from './server.ts';
export { renderMetrics, METRICS_CONTENT_TYPE } from './metrics.ts';
export type * from './model.ts';
