/**
 * `herald`: the command line of Herald's operators and auditors (`npx herald --help`,
 * `npm run herald -- --help`). It works on the same PostgreSQL as Herald (see database.ts)
 * and writes results to stdout, progress and errors to stderr; exit codes in cli-error.ts.
 */
import { Command, CommanderError } from 'commander';
import { CliError, EXIT } from './cli-error.js';
import { COMMANDS } from './commands/index.js';

/** The program with the command `argv` names, or with every command (for --help, or a name it does not know). */
export async function heraldProgram(argv: readonly string[] = []): Promise<Command> {
  const program = new Command('herald')
    .description("Herald's command line for operators and auditors")
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  const named = COMMANDS.find((command) => command.names.includes(argv[0] ?? ''));
  for (const command of named ? [named] : COMMANDS) (await command.load())(program);
  // Sub-commands inherit the parent's error handling.
  return program;
}

export async function runCli(argv: readonly string[]): Promise<number> {
  try {
    await (await heraldProgram(argv)).parseAsync([...argv], { from: 'user' });
    return process.exitCode === undefined ? EXIT.ok : Number(process.exitCode);
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end with exit code 0 and have printed already.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof CliError) {
      process.stderr.write(`herald: ${error.message}\n`);
      return error.exitCode;
    }
    process.stderr.write(`herald: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.failed;
  }
}

const invoked = process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'));
if (invoked) {
  const code = await runCli(process.argv.slice(2));
  process.exit(code);
}
