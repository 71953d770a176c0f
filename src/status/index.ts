// The status endpoint: server, metrics and the NodeStatus contract it serializes.
export { startStatusServer, parseListenAddress } from './server.ts';
export type { StatusServer, StatusServerOptions, ListenAddress } from './server.ts';
export { renderMetrics, METRICS_CONTENT_TYPE } from './metrics.ts';
export type * from './model.ts';
