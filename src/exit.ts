/** Exit codes of every meshvisor command (sysexits.h where one fits). Documented in the README. */
export const ExitCode = {
  /** Clean stop, or the command did what was asked. */
  ok: 0,
  /** A supervised program failed for good (crash loop), or `status --ready` saw a node not ready. */
  failed: 1,
  /** Unknown command or flag (EX_USAGE). */
  usage: 64,
  /** A readiness deadline passed, or a binary is missing (EX_UNAVAILABLE). */
  unavailable: 69,
  /** The configuration is wrong: the spec, a config entry Consul rejects, a token ACLs deny (EX_CONFIG). */
  config: 78,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

const EXIT_ERROR = Symbol.for('meshvisor.ExitError');

/**
 * An error that ends a command (or a node's life) with a given exit code and a one-line message,
 * no stack trace. The core throws it; the CLI prints it.
 */
export class ExitError extends Error {
  readonly [EXIT_ERROR] = true;

  // The bundle holds two copies of this class (the entry and the lazily loaded commands,
  // scripts/build.mjs): instanceof goes by the brand, not by identity.
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && EXIT_ERROR in value;
  }

  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
    this.name = 'ExitError';
  }
}
