// Rendering a node: the agent config file, the config entries (as files and in write order),
// and the agent's arguments. Pure: writeRenderedFiles does the writing.
import { join } from 'node:path';
import { IPV4_PATTERN } from '../spec/index.ts';
import type { NodeSpec } from '../spec/index.ts';
import { renderAgentConfig } from './agent.ts';
import { renderConfigEntries, type ConfigEntry } from './config-entries.ts';
import { CONFIG_ENTRIES_DIR, type RenderedFile } from './write.ts';

export type { ConfigEntry } from './config-entries.ts';
export { writeRenderedFiles, CONFIG_ENTRIES_DIR, type RenderedFile } from './write.ts';

export interface RenderedNode {
  files: RenderedFile[];
  /** In write order: dependencies first. */
  configEntries: ConfigEntry[];
  /** `['agent', '-config-dir', configDir]`: Consul reads every *.json/*.hcl there. */
  agentArgs: string[];
}

/** The one agent config file meshvisor owns; re-rendering replaces it, never appends. */
export const AGENT_CONFIG_FILE = 'meshvisor.json';

export function renderNode(spec: NodeSpec, address: string): RenderedNode {
  if (!IPV4_PATTERN.test(address) || address === '0.0.0.0') {
    throw new Error(`renderNode: "${address}" is not a usable IPv4 address`);
  }
  const { configDir } = spec.consul;
  const agentConfig = renderAgentConfig(spec, address);
  const configEntries = renderConfigEntries(spec);
  const digits = Math.max(2, String(configEntries.length).length);
  const file = (relativePath: string, contents: unknown, mode: number): RenderedFile => ({
    path: join(configDir, relativePath),
    relativePath,
    contents: JSON.stringify(contents, null, 2) + '\n',
    mode,
  });
  return {
    files: [
      file(AGENT_CONFIG_FILE, agentConfig, holdsSecret(agentConfig) ? 0o600 : 0o644),
      ...configEntries.map((entry, i) =>
        file(
          join(
            CONFIG_ENTRIES_DIR,
            `${String(i + 1).padStart(digits, '0')}-${entry.Kind}-${fileSafe(entry.Name)}.json`,
          ),
          entry,
          0o644,
        ),
      ),
    ],
    configEntries,
    agentArgs: ['agent', '-config-dir', configDir],
  };
}

/** The gossip key and ACL tokens (from the spec or extraConfig) make the file a secret. */
function holdsSecret(agentConfig: Record<string, unknown>): boolean {
  return agentConfig.encrypt !== undefined || agentConfig.acl !== undefined;
}

/** Names are already safe (spec rules); only the intentions wildcard needs a spelling. */
function fileSafe(name: string): string {
  return name === '*' ? 'wildcard' : name;
}
