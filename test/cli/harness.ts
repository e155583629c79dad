/**
 * Runs tunnelctl for tests: in-process through `runTunnelctl` with fake streams (fast), or as
 * the real binary `node bin/tunnelctl.js` (slower; proves the wiring and exit codes). Every run
 * gets a private XDG_CONFIG_HOME and HOME so no test reads or writes the user's own files.
 */
import { spawn } from 'node:child_process';
import type { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import { runTunnelctl } from '../../src/cli/main.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  /** Text for stdin, or a stream (e.g. a PassThrough posing as a terminal). */
  stdin?: string | NodeJS.ReadableStream;
  stdoutTTY?: boolean;
  stderrTTY?: boolean;
  signals?: EventEmitter;
  /** `login --sso`'s wait between polls, and the hook it gives the URL to approve at. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  openUrl?: (url: string) => void | Promise<void>;
  /** Called with the live output buffers, e.g. to wait for a line. */
  onOutput?: (out: { stdout: () => string; stderr: () => string }) => void;
}

class Capture extends Writable {
  text = '';
  constructor(readonly isTTY: boolean) {
    super();
  }
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void) {
    this.text += chunk.toString();
    cb();
  }
}

/** One root per test file for every temporary directory, removed after the file's tests. */
let root: string | null = null;

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
  root = null;
});

export function tempDir(prefix = 'tunnelctl-test-'): string {
  root ??= mkdtempSync(join(tmpdir(), 'tunnelctl-tests-'));
  return mkdtempSync(join(root, prefix));
}

/** A clean environment: no credentials, private config and home, the real PATH. */
export function baseEnv(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  const home = tempDir('tunnelctl-home-');
  return {
    PATH: process.env.PATH,
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    TMPDIR: tmpdir(),
    ...extra,
  };
}

/** Environment for user `user` (password `<user>password`) on the server at `url`. */
export function userEnv(url: string, user = 'user1', extra: Record<string, string | undefined> = {}) {
  return baseEnv({ CONTROL_PLANE: url, USERPASS: `${user}:${user}password`, ...extra });
}

export async function tunnelctl(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const stdout = new Capture(opts.stdoutTTY ?? false);
  const stderr = new Capture(opts.stderrTTY ?? false);
  const stdin =
    typeof opts.stdin === 'string'
      ? Readable.from([opts.stdin])
      : (opts.stdin ?? Readable.from([] as string[]));
  opts.onOutput?.({ stdout: () => stdout.text, stderr: () => stderr.text });
  const code = await runTunnelctl(args, {
    env: opts.env ?? baseEnv(),
    stdin,
    stdout,
    stderr,
    ...(opts.signals && { signals: opts.signals }),
    ...(opts.sleep && { sleep: opts.sleep }),
    ...(opts.openUrl && { openUrl: opts.openUrl }),
  });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/** A stdin that says it is a terminal, with a no-op raw mode, fed by `type()`. */
export function fakeTerminal(): PassThrough & {
  isTTY: true;
  setRawMode: (b: boolean) => void;
  rawModes: boolean[];
} {
  const s = new PassThrough() as PassThrough & {
    isTTY: true;
    setRawMode: (b: boolean) => void;
    rawModes: boolean[];
  };
  s.isTTY = true;
  s.rawModes = [];
  s.setRawMode = (b: boolean) => {
    s.rawModes.push(b);
  };
  return s;
}

/** Runs the real binary, asynchronously so an in-process fake server keeps answering. */
export function spawnTunnelctl(
  args: string[],
  env: Record<string, string | undefined>,
  stdin?: string,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'tunnelctl.js'), ...args], {
      env: env as NodeJS.ProcessEnv,
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}

export async function waitUntil(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('waitUntil: timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const FAKE_CLOUDFLARED = `#!/bin/sh
echo "argv: $*"
echo "token: \${TUNNEL_TOKEN:-none}"
for a in "$@"; do
  case "$a" in
    */config.yaml|*/credentials.json)
      echo "file $(basename "$a") $(stat -c %a "$a") dir $(stat -c %a "$(dirname "$a")")"
      cat "$a"; echo ;;
  esac
done
if [ -n "$FAKE_CLOUDFLARED_WAIT" ]; then
  trap 'echo "got TERM"; exit 0' TERM
  trap 'echo "got INT"; exit 0' INT
  echo "pgid: $(cut -d' ' -f5 /proc/$$/stat)"
  echo started
  while :; do sleep 0.05; done
fi
echo "cloudflared failing on purpose" >&2
exit 3
`;

/**
 * A fake `cloudflared` (shell script) that prints its argv, TUNNEL_TOKEN and the modes and
 * contents of the files it is given, then exits 3 — or, with FAKE_CLOUDFLARED_WAIT set, prints
 * "started" and waits for SIGTERM/SIGINT (exit 0). Returns the directory to put first on PATH.
 */
export function installFakeCloudflared(): string {
  const bin = tempDir('tunnelctl-bin-');
  writeFileSync(join(bin, 'cloudflared'), FAKE_CLOUDFLARED, { mode: 0o755 });
  return bin;
}
