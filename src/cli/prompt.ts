/**
 * Reading a user name and passwords (`login`, `passwd`, `admin users passwd`): a line from a
 * terminal (a password without echo), or all of stdin for `--password-stdin`.
 */
import { CliError } from './errors.js';

interface TtyIn extends NodeJS.ReadableStream {
  isTTY?: boolean;
  setRawMode?: (mode: boolean) => unknown;
}

/** What a prompt read past its newline (typed ahead), for the next prompt. */
const typedAhead = new WeakMap<NodeJS.ReadableStream, string>();

export function isInteractive(stdin: NodeJS.ReadableStream): boolean {
  return (stdin as TtyIn).isTTY === true;
}

/** All of stdin, without the final newline. */
export async function readAllStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stdin)
    text += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
  return text.replace(/\r?\n$/, '');
}

/** A new password typed twice on the terminal (`what` names whose), refused when the two differ. */
export async function promptNewPassword(
  stdin: NodeJS.ReadableStream,
  stderr: NodeJS.WritableStream,
  what = 'New password',
): Promise<string> {
  const first = await promptLine(stdin, stderr, `${what}: `, true);
  const again = await promptLine(stdin, stderr, `${what} again: `, true);
  if (first !== again) throw new CliError('The two passwords differ; nothing was changed');
  if (!first) throw new CliError('The password is empty; nothing was changed');
  return first;
}

/**
 * One line typed on the terminal; echo is off when `hidden`. Ctrl-C or Ctrl-D abandons.
 * Characters are handled one at a time, so this works whatever the terminal's mode.
 */
export function promptLine(
  stdin: NodeJS.ReadableStream,
  stderr: NodeJS.WritableStream,
  question: string,
  hidden: boolean,
): Promise<string> {
  const tty = stdin as TtyIn;
  stderr.write(question);
  return new Promise((resolve, reject) => {
    let line = '';
    const raw = hidden && typeof tty.setRawMode === 'function';
    if (raw) tty.setRawMode?.(true);
    const finish = (err: Error | null) => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      if (raw) tty.setRawMode?.(false);
      stdin.pause();
      if (hidden || err) stderr.write('\n');
      if (err) reject(err);
      else resolve(line);
    };
    const onEnd = () => finish(line ? null : new CliError('No input; abandoned'));
    const onData = (chunk: Buffer | string): boolean => {
      const chars = [...chunk.toString()];
      for (let i = 0; i < chars.length; i++) {
        const ch = chars[i] as string;
        if (ch === '\r' || ch === '\n') {
          const rest = chars.slice(chars[i + 1] === '\n' && ch === '\r' ? i + 2 : i + 1).join('');
          if (rest) typedAhead.set(stdin, rest);
          finish(null);
          return true;
        }
        if (ch === '\u0003' || ch === '\u0004') {
          finish(new CliError('Abandoned'));
          return true;
        }
        if (ch === '\u007f' || ch === '\b') line = line.slice(0, -1);
        else line += ch;
      }
      return false;
    };
    const ahead = typedAhead.get(stdin);
    typedAhead.delete(stdin);
    if (ahead && onData(ahead)) return;
    stdin.on('data', onData);
    stdin.on('end', onEnd);
    stdin.resume();
  });
}
