// `meshvisor schema`: the node spec's JSON Schema, generated from the zod schema.
import { specJsonSchema } from '../spec/index.ts';
import { ExitCode } from '../exit.ts';
import type { CommandValues } from './command.ts';

export default async function schema(_values: CommandValues): Promise<number> {
  process.stdout.write(JSON.stringify(specJsonSchema(), null, 2) + '\n');
  return ExitCode.ok;
}
