// Writing config entries idempotently: read, compare, write only when different, with a
// check-and-set on the index we read so two nodes writing the same entry converge instead of
// overwriting each other (contract §5: cas=0 creates only; a CAS miss answers `false`).
import { ConsulError, type ConsulApi, type StoredConfigEntry } from './client.ts';
import { entryWriteRight, ruleText, TOKEN_SOURCES } from './rights.ts';
import { NotYet, pollUntil, type PollOptions } from './poll.ts';

export type ConfigEntryBody = { Kind: string; Name: string } & Record<string, unknown>;
export type ConfigEntryOutcome = 'written' | 'unchanged';

export async function applyConfigEntry(
  client: ConsulApi,
  entry: ConfigEntryBody,
  options: Omit<PollOptions, 'hint'>,
): Promise<ConfigEntryOutcome> {
  const label = `${entry.Kind}/${entry.Name}`;
  return pollUntil(
    'config-entries',
    async () => {
      try {
        const current = await client.readConfigEntry(entry.Kind, entry.Name);
        if (current && entryMatches(entry, current)) return 'unchanged';
        if (await client.writeConfigEntry(entry, current?.ModifyIndex ?? 0)) return 'written';
        throw new NotYet(`${label} changed while it was being written; reading it again`);
      } catch (err) {
        if (err instanceof ConsulError && err.status === 403) {
          throw new ConsulError(
            `${label} denied by Consul's ACLs: ${err.message}; ${TOKEN_SOURCES.meshvisor} needs ${ruleText(entryWriteRight(entry))} (docs/acl.md)`,
            403,
            false,
          );
        }
        if (err instanceof ConsulError && !err.transient) {
          throw new ConsulError(`${label} rejected by Consul: ${err.message}`, err.status, false);
        }
        throw err;
      }
    },
    { ...options, hint: `that the servers have a leader; the entry ${label}` },
  );
}

/**
 * True when Consul's stored entry already says everything the desired one says. Consul fills
 * in fields (indexes, intention Precedence/Type, empty MeshGateway...), so desired must be a
 * subset; keys compare case- and underscore-insensitively because Consul's decoder accepts
 * snake_case and answers in CamelCase.
 */
export function entryMatches(desired: unknown, stored: StoredConfigEntry | unknown): boolean {
  if (Array.isArray(desired)) {
    return (
      Array.isArray(stored) &&
      stored.length === desired.length &&
      desired.every((item, i) => entryMatches(item, stored[i]))
    );
  }
  if (isObject(desired)) {
    if (!isObject(stored)) return false;
    const storedByKey = new Map(Object.entries(stored).map(([k, v]) => [normalizeKey(k), v]));
    return Object.entries(desired).every(([k, v]) =>
      entryMatches(v, storedByKey.get(normalizeKey(k))),
    );
  }
  return desired === stored;
}

function normalizeKey(key: string): string {
  return key.toLowerCase().replaceAll('_', '');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
