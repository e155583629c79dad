/**
 * Kill -9 mid-way: `tunnelplane serve` runs as a real process against the emulator; 50 routes
 * over 5 tunnels are requested, the process is killed with SIGKILL while it is writing to
 * Cloudflare, and a new process on the same database finishes the job: exactly the desired
 * state, no duplicate, no orphan.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startCloudflareEmulator,
  type StartedCloudflareEmulator,
} from '../src/emulators/cloudflare/index.js';
import { api, eventually } from './support/stack.js';
import { cfView } from './support/cloudflare-view.js';

let cf: StartedCloudflareEmulator;
let dir: string;
let child: ChildProcess | null = null;
const secretKey = randomBytes(32).toString('base64');

async function startServer(): Promise<string> {
  const proc = spawn(process.execPath, ['bin/tunnelplane.js', 'serve'], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TUNNELPLANE_PORT: '0',
      TUNNELPLANE_DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}`,
      TUNNELPLANE_SECRET_KEY: secretKey,
      TUNNELPLANE_USERS_FILE: join(dir, 'users.json'),
      TUNNELPLANE_CLOUDFLARE_API_TOKEN: cf.token,
      TUNNELPLANE_CLOUDFLARE_ACCOUNT_ID: cf.accountId,
      TUNNELPLANE_CLOUDFLARE_ZONE: cf.zoneName,
      TUNNELPLANE_CLOUDFLARE_BASE_URL: cf.url,
      TUNNELPLANE_CLOUDFLARE_TIMEOUT_MS: '2000',
      TUNNELPLANE_DEFAULT_CONFIG_MODE: 'remote',
      TUNNELPLANE_LEASE_SECONDS: '2',
      TUNNELPLANE_BACKOFF_MAX_SECONDS: '4',
      TUNNELPLANE_RESYNC_SECONDS: '0',
      TUNNELPLANE_LOG_LEVEL: 'info',
      TUNNELPLANE_INSTANCE: 'crash',
      TUNNELPLANE_API_MUTATIONS_PER_MINUTE: '0',
      TUNNELPLANE_QUOTA_PROTECTED_ROUTES: '100',
      TUNNELPLANE_QUOTA_TCP_ROUTES: '100',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child = proc;
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${buf.slice(-2000)}`)), 20_000);
    proc.stderr!.on('data', (d: Buffer) => {
      buf += d.toString();
      for (const line of buf.split('\n')) {
        if (!line.includes('tunnelplane is serving')) continue;
        clearTimeout(timer);
        resolve((JSON.parse(line) as { url: string }).url);
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${buf.slice(-2000)}`));
    });
  });
}

beforeAll(async () => {
  cf = await startCloudflareEmulator({ port: 0, zoneName: 'example.com', latencyMs: 40 });
  dir = mkdtempSync(join(tmpdir(), 'tunnelplane-crash-'));
  writeFileSync(join(dir, 'users.json'), JSON.stringify({ user1: 'user1password' }));
});
afterAll(async () => {
  child?.kill('SIGKILL');
  await cf?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('SIGKILL mid-way', () => {
  it('loses nothing and leaks nothing: a restarted server converges exactly', async () => {
    let url = await startServer();
    const u = api(() => url, {
      authorization: `Basic ${Buffer.from('user1:user1password').toString('base64')}`,
    });
    const tunnels: string[] = [];
    const routes: Array<{ tunnel: string; hostname: string }> = [];
    for (let i = 0; i < 5; i++) tunnels.push((await u.post('/api/v1/tunnels?wait=0', {})).body.name);
    for (const t of tunnels) {
      for (let j = 0; j < 10; j++) {
        const r = await u.post(`/api/v1/tunnels/${t}/routes?wait=0`, {
          service: `tcp://10.1.${j}.1:${5000 + j}`,
        });
        expect(r.status).toBe(202);
        routes.push({ tunnel: t, hostname: r.body.hostname });
      }
    }
    // Kill it while it is writing to Cloudflare.
    await eventually(
      () => cf.control.requests().filter((r: any) => r.method !== 'GET').length >= 3,
      20_000,
      5,
    );
    child!.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));
    // Mid-way: Cloudflare holds part of the desired state, not all of it.
    const before = cfView(cf);
    expect(before.records.length < 50 || before.tunnels.some((t) => (t.ingress?.length ?? 0) < 11)).toBe(
      true,
    );

    url = await startServer();
    await eventually(
      async () => {
        const items = (await u.get('/api/v1/tunnels')).body.items;
        return (
          items.length === 5 &&
          items.every((t: any) => t.phase === 'ready' && t.routes.every((r: any) => r.phase === 'ready'))
        );
      },
      40_000,
      200,
    );

    const after = cfView(cf);
    const ids = new Map<string, string>();
    for (const t of tunnels) ids.set(t, (await u.get(`/api/v1/tunnels/${t}`)).body.id);
    expect(after.tunnels.map((t) => t.name).sort()).toEqual(
      tunnels.map((t) => `tunnelplane-crash-${t}`).sort(),
    );
    expect(after.records.map((r) => `${r.name} ${r.content}`).sort()).toEqual(
      routes.map((r) => `${r.hostname} ${ids.get(r.tunnel)}.cfargotunnel.com`).sort(),
    );
    for (const t of after.tunnels) expect(t.ingress).toHaveLength(11);
    child!.kill('SIGKILL');
  }, 90_000);
});
