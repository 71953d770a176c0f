// How a benchmark script runs: its main() under a SIGINT/SIGTERM that aborts the current run
// (whose finally removes the namespaces and processes it made), exit 130 when interrupted.

/** Aborted on the first SIGINT or SIGTERM. */
export const interrupted = new AbortController();

export function runBench(main: () => Promise<void>): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`${signal}: stopping`);
      interrupted.abort();
      // The current run rejects and cleans up; force the exit if that hangs.
      setTimeout(() => process.exit(130), 15_000).unref();
    });
  }
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(interrupted.signal.aborted ? 130 : 1);
    },
  );
}
