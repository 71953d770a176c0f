// Consul x Envoy: what a pair needs to serve at all. Consul before 1.12 sends some filters by
// name only, without `typed_config` (the HTTP router of every http listener among them). Envoy
// 1.22 and later reject that unless the runtime guard below is false, and 1.39 removed the
// guard. Seen on the real binaries here (docs/images.md): Consul 1.10.12 with Envoy 1.36.4
// rejects `public_listener` ("Didn't find a registered implementation for
// 'envoy.filters.http.router' with type URL: ''") while /ready says LIVE, and serves through
// both sidecars once the runtime layer below is passed with `--config-yaml`. With Envoy 1.39.0
// it logs "Using a removed guard" and the listener is rejected all the same.
// versions.ts itself, not consul/index.ts: the spec's rules import this folder.
import { line, lineAtLeast } from '../consul/versions.ts';

/** The first Consul line whose xDS sends every filter typed. */
export const TYPED_FILTERS_SINCE = '1.12';
/** The first Envoy line that rejects a filter named without its type. */
export const NAME_LOOKUP_REJECTED_SINCE = '1.22';
/** The first Envoy line without the guard that let it look filters up by name. */
export const NAME_LOOKUP_GUARD_REMOVED_IN = '1.39';
export const NAME_LOOKUP_GUARD = 'envoy.reloadable_features.no_extension_lookup_by_name';

/** What a Consul line and an Envoy version need to serve together. */
export type EnvoyPair =
  | { needs: 'nothing' }
  /** Envoy gets `--config-yaml <configYaml>`: a runtime layer that turns the guard off. */
  | { needs: 'name-lookup'; configYaml: string; says: string }
  /** They cannot serve http together: `problem` names the pair and what to change. */
  | { needs: 'another-envoy'; problem: string };

/**
 * `envoyVersion` null (unknown): a Consul that sends name-only filters gets the runtime layer,
 * which an Envoy too old to need it ignores.
 */
export function envoyPair(consulLine: string, envoyVersion: string | null): EnvoyPair {
  if (lineAtLeast(consulLine, TYPED_FILTERS_SINCE)) return { needs: 'nothing' };
  const envoyLine = envoyVersion ? line(envoyVersion) : undefined;
  const envoy = envoyVersion ? `Envoy ${envoyVersion}` : 'an Envoy of unknown version';
  if (envoyLine && !lineAtLeast(envoyLine, NAME_LOOKUP_REJECTED_SINCE)) return { needs: 'nothing' };
  if (envoyLine && lineAtLeast(envoyLine, NAME_LOOKUP_GUARD_REMOVED_IN)) {
    return {
      needs: 'another-envoy',
      problem:
        `Consul ${consulLine} (consul.version) sends Envoy's HTTP router by name only, which Envoy ` +
        `${envoyLine} rejects (it removed ${NAME_LOOKUP_GUARD}): use an Envoy from ` +
        `${NAME_LOOKUP_REJECTED_SINCE} to 1.38 (1.36.4 is the one run here), or Consul ` +
        `${TYPED_FILTERS_SINCE} or later`,
    };
  }
  const layer = { name: 'meshvisor-name-lookup', static_layer: { [NAME_LOOKUP_GUARD]: false } };
  return {
    needs: 'name-lookup',
    configYaml: JSON.stringify({ layered_runtime: { layers: [layer] } }),
    says:
      `${envoy} with Consul ${consulLine}: Envoy runs with ${NAME_LOOKUP_GUARD}=false, since ` +
      `Consul before ${TYPED_FILTERS_SINCE} sends filters by name only`,
  };
}

/** "1.36.4" from `envoy --version` ("envoy  version: <sha>/1.36.4/Clean/RELEASE/BoringSSL"). */
export function parseEnvoyVersion(output: string): string | null {
  return /version: [0-9a-f]+\/(\d+\.\d+\.\d+)/.exec(output)?.[1] ?? null;
}
