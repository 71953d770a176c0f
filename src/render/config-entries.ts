// The node's config entries in write order: what each one refers to is written before it
// (proxy-defaults, service-defaults, resolvers, splitters, routers, gateways, intentions).
import type { NodeSpec } from '../spec/index.ts';
import { CONFIG_ENTRY_KINDS } from '../spec/index.ts';
import { renderTemplate } from './templates.ts';

export type ConfigEntry = { Kind: string; Name: string } & Record<string, unknown>;

export function renderConfigEntries(spec: NodeSpec): ConfigEntry[] {
  const serviceDefaults = spec.services.flatMap((service) =>
    service.protocol
      ? [renderEntry('service-defaults.json', { name: service.name, protocol: service.protocol })]
      : [],
  );
  const gateways = spec.gateways.map((gateway) => renderEntry('ingress-gateway.json', gateway));
  const entries = [...serviceDefaults, ...gateways, ...spec.configEntries];
  // Array.prototype.sort is stable: within a kind, generated entries come first, then the
  // spec's own in the order written.
  return entries.sort((a, b) => rank(a.Kind) - rank(b.Kind));
}

function renderEntry(
  name: 'service-defaults.json' | 'ingress-gateway.json',
  view: object,
): ConfigEntry {
  const entry = renderTemplate(name, view);
  if (!isConfigEntry(entry)) throw new Error(`template ${name} rendered no Kind and Name`);
  return entry;
}

function rank(kind: string): number {
  return CONFIG_ENTRY_KINDS.indexOf(kind as (typeof CONFIG_ENTRY_KINDS)[number]);
}

function isConfigEntry(value: unknown): value is ConfigEntry {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ConfigEntry).Kind === 'string' &&
    typeof (value as ConfigEntry).Name === 'string'
  );
}
