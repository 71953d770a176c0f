import { CliError, ExitCode } from './exit-codes.ts';
import type { CommandValues } from './main.ts';

export default async function schema(_values: CommandValues): Promise<number> {
  throw new CliError('not implemented yet', ExitCode.usage);
}
