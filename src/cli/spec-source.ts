// The node spec for validate, render and run: from -c FILE or the environment, every problem
// printed to stderr as `path: message` before the command ends with exit code 78.
import { loadSpec, SpecError, type NodeSpec } from '../spec/index.ts';
import { ExitError, ExitCode } from '../exit.ts';

export async function loadSpecForCli(
  values: { config?: string | boolean | undefined },
  env: NodeJS.ProcessEnv = process.env,
): Promise<NodeSpec> {
  const file = typeof values.config === 'string' ? values.config : undefined;
  try {
    return await loadSpec({ file, env });
  } catch (err) {
    if (!(err instanceof SpecError)) throw err;
    process.stderr.write(err.problems.map((p) => `${p.path}: ${p.message}\n`).join(''));
    const count = err.problems.length;
    throw new ExitError(
      `the node spec has ${count} problem${count === 1 ? '' : 's'}`,
      ExitCode.config,
    );
  }
}
