import type { CommandValues } from './command.ts';
import { loadSpecForCli } from './spec-source.ts';
import { createLogger } from '../log.ts';
import { runNode } from '../node/index.ts';
import { loadSpec } from '../spec/index.ts';
import { warnIfPid1WithoutInit } from '../supervise/index.ts';

export default async function run(values: CommandValues): Promise<number> {
  const spec = await loadSpecForCli(values);
  const logger = createLogger({ pretty: values.pretty === true });
  warnIfPid1WithoutInit(logger);
  // A reload reads the spec again from the same source: the file, or the environment.
  const file = typeof values.config === 'string' ? values.config : undefined;
  return runNode(spec, logger, () => loadSpec({ file, env: process.env }));
}
