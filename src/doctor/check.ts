// Building checks: a status, what was found, the fix, details, and how long it took.
import type { Check, CheckGroup, CheckStatus, Detail } from './report.ts';

export interface CheckResult {
  status: CheckStatus;
  found: string;
  fix?: string;
  details?: Detail[];
}

/** The worst of some statuses: fail over warn over ok. */
export function worst(statuses: CheckStatus[]): CheckStatus {
  if (statuses.includes('fail')) return 'fail';
  if (statuses.includes('warn')) return 'warn';
  return 'ok';
}

/** Runs one check and times it; a check that throws is a failed check, not a crash. */
export async function timed(
  id: string,
  group: CheckGroup,
  title: string,
  run: () => CheckResult | Promise<CheckResult>,
): Promise<Check> {
  const started = performance.now();
  let result: CheckResult;
  try {
    result = await run();
  } catch (err) {
    result = {
      status: 'fail',
      found: `the check itself failed: ${(err as Error).message}`,
      fix: 'this is a bug in meshvisor doctor; please report it with the spec (without secrets)',
    };
  }
  const check: Check = {
    id,
    group,
    title,
    status: result.status,
    found: result.found,
    durationMs: Math.max(0, Math.round(performance.now() - started)),
  };
  if (result.fix && result.status !== 'ok') check.fix = result.fix;
  if (result.details && result.details.length > 0) check.details = result.details;
  return check;
}

export function plural(n: number, what: string, many = `${what}s`): string {
  return `${n} ${n === 1 ? what : many}`;
}
