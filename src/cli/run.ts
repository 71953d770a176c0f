import type { CommandValues } from './main.ts';
import { loadSpecForCli } from './spec-source.ts';
import { createLogger } from '../log.ts';
import { runNode } from '../node.ts';
import { warnIfPid1WithoutInit } from '../supervise/index.ts';

export default async function run(values: CommandValues): Promise<number> {
  const spec = await loadSpecForCli(values);
  const logger = createLogger({ pretty: values.pretty === true });
  warnIfPid1WithoutInit(logger);
  return runNode(spec, logger);
}
