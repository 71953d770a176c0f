// `meshvisor reload [--url URL]`: asks a running node to re-read its spec (what SIGHUP does),
// through its status endpoint, and prints how the reload ended. Light like `status`: only
// node:http is loaded.
import { ExitError, ExitCode } from '../exit.ts';
import type { CommandValues } from './command.ts';
import { call, clean, isRecord, parseJson, statusUrl } from './status.ts';

/** A reload may wait for new sidecars to be ready: up to the node's readySeconds (120 s max). */
const RELOAD_TIMEOUT_MS = 130_000;

export default async function reload(values: CommandValues): Promise<number> {
  const base = statusUrl(values);
  const answer = await call(base, '/reload', { method: 'POST', timeoutMs: RELOAD_TIMEOUT_MS });
  const doc = parseJson(answer.body);
  if (!isRecord(doc) || typeof doc.result !== 'string') {
    throw new ExitError(
      `${base}/reload answered HTTP ${answer.code} without a reload result; is this meshvisor?`,
      ExitCode.failed,
    );
  }
  const lines = (key: 'problems' | 'changes') =>
    Array.isArray(doc[key]) ? doc[key].map((line) => `  ${clean(line)}\n`).join('') : '';
  process.stdout.write(`reload ${clean(doc.result)}\n${lines('changes')}`);
  process.stderr.write(lines('problems'));
  switch (doc.result) {
    case 'applied':
    case 'unchanged':
      return ExitCode.ok;
    case 'invalid':
    case 'refused':
      return ExitCode.config;
    default:
      return ExitCode.failed;
  }
}
