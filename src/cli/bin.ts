// The executable's entry (dist/meshvisor.mjs). Kept apart from main() so tests can call main().
import { main } from './main.ts';
import { ExitCode } from '../exit.ts';

// `meshvisor render | head`: a reader that stops early is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`meshvisor: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = ExitCode.failed;
  },
);
