// `meshvisor render [-c FILE] [--address IP] [--out DIR]`: exactly the files `run` writes, to
// DIR (same layout as consul.configDir) or printed, each after a `# <path>` line. Starts nothing.
import { resolve } from 'node:path';
import { AddressError, discoverAddress } from '../net/index.ts';
import { renderNode, writeRenderedFiles } from '../render/index.ts';
import { IPV4_PATTERN } from '../spec/index.ts';
import type { NodeSpec } from '../spec/index.ts';
import { ExitError, ExitCode } from '../exit.ts';
import type { CommandValues } from './command.ts';
import { loadSpecForCli } from './spec-source.ts';

export default async function render(values: CommandValues): Promise<number> {
  const spec = await loadSpecForCli(values);
  const address = await nodeAddress(spec, values.address);
  const { files } = renderNode(spec, address);
  if (typeof values.out === 'string') {
    const outDir = resolve(values.out);
    await writeRenderedFiles(files, { outDir });
    for (const file of files) {
      process.stdout.write(
        `wrote ${resolve(outDir, file.relativePath)} (${file.mode.toString(8)})\n`,
      );
    }
  } else {
    for (const file of files) process.stdout.write(`# ${file.path}\n${file.contents}`);
  }
  return ExitCode.ok;
}

async function nodeAddress(spec: NodeSpec, flag: string | boolean | undefined): Promise<string> {
  if (typeof flag === 'string') {
    if (!IPV4_PATTERN.test(flag) || flag === '0.0.0.0') {
      throw new ExitError(
        `--address must be the node's IPv4 address, not "${flag}"`,
        ExitCode.usage,
      );
    }
    return flag;
  }
  try {
    return await discoverAddress(spec.address);
  } catch (err) {
    if (!(err instanceof AddressError)) throw err;
    const code = err.kind === 'config' ? ExitCode.config : ExitCode.unavailable;
    throw new ExitError(`address: ${err.message} (or pass --address IP)`, code);
  }
}
