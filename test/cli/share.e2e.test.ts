/**
 * `tunnelctl share` end to end: the real binary (`node bin/tunnelctl.js`) against the real
 * stack (server, reconciler, Cloudflare emulator; remote mode by default), with a stand-in
 * `cloudflared` first on PATH that writes down its arguments, TUNNEL_TOKEN and pid, then waits
 * until it is stopped. Ctrl-C removes the route (its DNS record goes from the emulator); a
 * SIGKILLed tunnelctl leaves the route, whose expiry then removes it all the same.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cfView } from '../support/cloudflare-view.js';
import { eventually, startStack, type Stack } from '../support/stack.js';
import { ROOT, tempDir, userEnv } from './harness.js';

/** Records, one line each, then waits for INT or TERM; in a process group of its own (tunnelctl's doing). */
const STAND_IN = `#!/bin/sh
{
  echo "pid=$$"
  echo "argv=$*"
  echo "token=\${TUNNEL_TOKEN:-}"
} > "$CLOUDFLARED_RECORD.tmp"
mv "$CLOUDFLARED_RECORD.tmp" "$CLOUDFLARED_RECORD"
trap 'echo "stand-in got INT" >&2; exit 0' INT
trap 'echo "stand-in got TERM" >&2; exit 0' TERM
while :; do sleep 0.05; done
`;

interface Share {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  record: string;
}

describe('tunnelctl share against the real server', () => {
  let stack: Stack;
  let bin: string;
  const standIns: number[] = [];

  beforeAll(async () => {
    stack = await startStack({ configMode: 'remote' });
    bin = tempDir('tunnelctl-standin-');
    writeFileSync(join(bin, 'cloudflared'), STAND_IN, { mode: 0o755 });
  });
  afterAll(async () => {
    // A stand-in whose tunnelctl was SIGKILLed outlives it: stop its group.
    for (const pid of standIns) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await stack?.stop();
  });

  function startShare(args: string[]): Share {
    const record = join(tempDir('tunnelctl-record-'), 'record');
    const env = userEnv(stack.url, 'user1', {
      PATH: `${bin}:${process.env.PATH}`,
      CLOUDFLARED_RECORD: record,
    });
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'tunnelctl.js'), 'share', ...args], {
      cwd: ROOT,
      env: env as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    return { child, stdout: () => stdout, stderr: () => stderr, exited, record };
  }

  /** What the stand-in wrote down, once it started. */
  async function started(s: Share): Promise<Record<string, string>> {
    // Generous: the first run compiles src/ through tsx on a busy machine.
    await eventually(() => existsSync(s.record) || s.child.exitCode !== null, 60_000);
    expect(existsSync(s.record), `cloudflared never started: ${s.stderr()}`).toBe(true);
    const rec = Object.fromEntries(
      readFileSync(s.record, 'utf8')
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    standIns.push(Number(rec.pid));
    return rec;
  }

  const u = () => stack.as('user1');
  const dnsNames = () => cfView(stack.cf).records.map((r) => r.name);
  const routesOf = async (tunnel: string) =>
    ((await u().get(`/api/v1/tunnels/${tunnel}/routes`)).body.items ?? []) as Array<{
      name: string;
      hostname: string;
      phase: string;
      expiresAt: string | null;
    }>;

  it('shares until Ctrl-C, then removes the route; a killed tunnelctl leaves it to its expiry', async () => {
    const before = Date.now();
    const first = startShare(['8000', '--ttl', '1h', '--name', 'demo']);
    const rec = await started(first);
    const host = `demo-share-user1.${stack.cf.zoneName}`;
    expect(first.stdout()).toBe(`https://${host}\n`);

    // cloudflared runs for the share tunnel, with its token in the environment, not in argv.
    expect(rec.argv).toBe('tunnel run');
    const token = (await u().get('/api/v1/tunnels/share-user1/token')).body.token as string;
    expect(rec.token).toBe(token);
    const tunnel = (await u().get('/api/v1/tunnels/share-user1')).body;
    expect(tunnel).toMatchObject({ configMode: 'remote', phase: 'ready', expiresAt: null });

    // Ready before cloudflared starts: in the API and at Cloudflare.
    const [route] = await routesOf('share-user1');
    expect(route).toMatchObject({ name: 'demo', hostname: host, phase: 'ready' });
    expect(Date.parse(route!.expiresAt!)).toBeGreaterThanOrEqual(before + 3600_000 - 1000);
    expect(Date.parse(route!.expiresAt!)).toBeLessThanOrEqual(Date.now() + 3600_000);
    expect(dnsNames()).toContain(host);
    const ingress = cfView(stack.cf).tunnels.find((t) => t.id === tunnel.id)?.ingress ?? [];
    expect(ingress.map((r) => r.hostname)).toContain(host);

    first.child.kill('SIGINT');
    const end = await first.exited;
    expect(end, first.stderr()).toEqual({ code: 130, signal: null });
    expect(first.stderr()).toContain('stand-in got INT');
    expect(first.stderr()).toContain(`Removed route demo (https://${host}) from tunnel share-user1`);
    await eventually(() => !dnsNames().includes(host), 20_000);
    await eventually(async () => (await routesOf('share-user1')).length === 0);
    // The share tunnel stays, for the next share.
    expect((await u().get('/api/v1/tunnels/share-user1')).status).toBe(200);

    // Killed outright, tunnelctl removes nothing: the route stays, with its expiry…
    const second = startShare(['8001', '--ttl', '2h', '--name', 'again']);
    await started(second);
    const host2 = `again-share-user1.${stack.cf.zoneName}`;
    expect(second.stdout()).toBe(`https://${host2}\n`);
    second.child.kill('SIGKILL');
    expect((await second.exited).signal).toBe('SIGKILL');
    const [kept] = await routesOf('share-user1');
    expect(kept).toMatchObject({ name: 'again', hostname: host2, phase: 'ready' });
    expect(Date.parse(kept!.expiresAt!)).toBeGreaterThan(Date.now() + 3600_000);
    expect(dnsNames()).toContain(host2);

    // …and once it has come, the control plane removes the route by itself.
    await stack.runtime.store.db
      .updateTable('routes')
      .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
      .where('hostname', '=', host2)
      .execute();
    await eventually(() => !dnsNames().includes(host2), 30_000);
    await eventually(async () => (await routesOf('share-user1')).length === 0);
    const events = (await u().get('/api/v1/events?limit=50')).body.items as Array<{
      action: string;
      target: string;
    }>;
    expect(events.find((e) => e.action === 'route.expired')).toMatchObject({ target: 'share-user1/again' });
  }, 120_000);
});
