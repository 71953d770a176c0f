// The Envoy a node's proxies run (proxy.envoyBinary, found at preflight): asked its version, and
// paired with the Consul line the agent config is rendered for (consul.version). A pair that
// cannot serve is refused before anything starts; one that needs Envoy's name lookup turned back
// on says so once.
import { renderedLine } from '../consul/index.ts';
import { envoyPair, type EnvoyPair } from '../envoy/index.ts';
import { ExitCode, ExitError } from '../exit.ts';
import type { Logger } from '../log.ts';
import { withoutSecrets, type NodeSpec } from '../spec/index.ts';
import type { NodeDeps } from './context.ts';

export interface EnvoyBinary {
  path: string;
  /** "1.36.4"; null when `envoy --version` did not say. */
  version: string | null;
  pair: EnvoyPair;
}

export async function resolveEnvoy(
  node: { deps: NodeDeps; logger: Logger },
  spec: NodeSpec,
  path: string,
): Promise<EnvoyBinary> {
  const version = await node.deps.envoyVersion(path, withoutSecrets(spec, process.env));
  if (version === null) {
    node.logger.warn({ envoy: path }, '`envoy --version` did not say its version');
  }
  const pair = envoyPair(renderedLine(spec.consul.version), version);
  if (pair.needs === 'another-envoy') {
    throw new ExitError(`proxy.envoyBinary: ${pair.problem}`, ExitCode.config);
  }
  if (pair.needs === 'name-lookup') node.logger.info({ envoy: path, version }, pair.says);
  return { path, version, pair };
}
