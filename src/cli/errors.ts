/**
 * Errors tunnelctl itself raises. `CliError` is a failure (exit 1) whose message already names
 * the cause and the fix; `UsageError` is a bad command line (exit 2, usage follows).
 */

export class CliError extends Error {
  readonly exitCode: number;

  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

export class UsageError extends CliError {
  /** The command whose usage to show, e.g. ['route', 'add']; empty for the general usage. */
  readonly command: string[];

  constructor(message: string, command: string[] = []) {
    super(message, 2);
    this.name = 'UsageError';
    this.command = command;
  }
}
