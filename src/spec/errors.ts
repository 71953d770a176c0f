// Spec problems as `path: message` lines, from zod issues, parsers and the environment.
import type { z } from 'zod';
import { formatPath } from './rules.ts';

export interface SpecProblem {
  /** `services[0].port`; `FILE:LINE:COLUMN` for syntax errors; `(root)` for the whole spec. */
  path: string;
  message: string;
}

/** Everything wrong with a spec, reported at once so a user fixes it in one round. */
export class SpecError extends Error {
  readonly problems: SpecProblem[];

  constructor(problems: SpecProblem[]) {
    super(problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
    this.name = 'SpecError';
    this.problems = problems;
  }
}

/** Fields of earlier releases, and what replaced them. */
const RENAMED: Record<string, string> = {
  'consul.aclToken':
    'replaced by consul.acl.tokens.agent (the agent) and consul.acl.tokens.meshvisor (its API calls, default: agent); see docs/acl.md',
};

/** Field names known at a path of the spec, for "did you mean" hints on unknown keys. */
export type KnownKeys = (path: readonly PropertyKey[]) => string[];

export function problemsFromIssues(
  issues: readonly z.core.$ZodIssue[],
  knownKeys: KnownKeys,
  prefix: readonly PropertyKey[] = [],
): SpecProblem[] {
  return issues.flatMap((issue): SpecProblem[] => {
    const path = [...prefix, ...issue.path];
    switch (issue.code) {
      case 'unrecognized_keys':
        return issue.keys.map((key) => {
          const full = formatPath([...path, key]);
          const renamed = RENAMED[full];
          return {
            path: full,
            message: renamed ?? `unknown key${suggestion(key, knownKeys(path))}`,
          };
        });
      case 'invalid_union': {
        // Report the branch the input was meant for: the one that got past the type check.
        const meant = issue.errors.filter(
          (branch) => !branch.every((i) => i.code === 'invalid_type' && i.path.length === 0),
        );
        const [only] = meant;
        if (meant.length === 1 && only) return problemsFromIssues(only, knownKeys, path);
        return [{ path: formatPath(path), message: issue.message }];
      }
      default:
        return [{ path: formatPath(path), message: readable(issue.message) }];
    }
  });
}

function readable(message: string): string {
  if (/received undefined$/.test(message)) return 'required';
  return message.replace(/^Invalid (?:input|option): /, '');
}

function suggestion(key: string, known: string[]): string {
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = editDistance(key.toLowerCase(), name.toLowerCase());
    if (!best || distance < best.distance) best = { name, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(key.length / 3))
    ? ` (did you mean ${best.name}?)`
    : '';
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + cost,
      );
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
