/**
 * Errors tunnelctl itself raises. `CliError` is a failure (exit 1) whose message already names
 * the cause and the fix; `UsageError` is a bad command line (exit 2, usage follows). Each has a
 * stable `code` (`cli.usage`, `cli.timeout`, …), shown by `-o json` errors.
 */

export class CliError extends Error {
  readonly exitCode: number;
  readonly code: string;
  readonly details: Record<string, unknown>;

  constructor(
    message: string,
    opts: { exitCode?: number; code?: string; details?: Record<string, unknown> } = {},
  ) {
    super(message);
    this.name = 'CliError';
    this.exitCode = opts.exitCode ?? 1;
    this.code = opts.code ?? 'cli.failed';
    this.details = opts.details ?? {};
  }
}

export class UsageError extends CliError {
  /** The command whose usage to show, e.g. ['route', 'add']; empty for the general usage. */
  readonly command: string[];

  constructor(message: string, command: string[] = []) {
    super(message, { exitCode: 2, code: 'cli.usage' });
    this.name = 'UsageError';
    this.command = command;
  }
}
