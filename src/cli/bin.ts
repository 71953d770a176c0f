// The executable's entry (dist/meshvisor.mjs). Kept apart from main() so tests can call main().
import { main } from './main.ts';
import { ExitCode } from './exit-codes.ts';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`meshvisor: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = ExitCode.failed;
  },
);
