/**
 * How a `herald` command ends badly. Every failure a user can cause or meet is one of
 * these, printed as one line on stderr, never as a stack trace.
 */
export const EXIT = {
  /** Done, and every check passed. */
  ok: 0,
  /** Ran, and found a problem (a broken chain, a differing row) or could not do its work. */
  failed: 1,
  /** The command line or the configuration is wrong; nothing was done. */
  usage: 2,
} as const;

export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failed,
  ) {
    super(message);
  }
}
