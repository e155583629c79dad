/**
 * The server as `npm run build` makes it (scripts/build.mjs: bundled by esbuild, the Cloudflare
 * SDK cut down to the resources the adapter names): built into a temporary folder, it serves a
 * remote tunnel with an allow-listed route, an Access-protected route and a TCP route against the
 * emulator — every SDK resource it uses (tunnels, configurations, DNS batch and listing, rulesets
 * (the removal of an older installation's allow-list rules), Access applications with their
 * policies, service tokens, connections, zones, token verification) — and deletes them all.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startCloudflareEmulator,
  type StartedCloudflareEmulator,
} from '../src/emulators/cloudflare/index.js';
import Database from 'better-sqlite3';
import { api, eventually } from './support/stack.js';
import { cfView } from './support/cloudflare-view.js';
import { cfHand } from './support/cloudflare-hand.js';

let cf: StartedCloudflareEmulator;
let dir: string;
beforeAll(async () => {
  cf = await startCloudflareEmulator({ port: 0, zoneName: 'example.com', plan: 'pro' });
  dir = mkdtempSync(join(tmpdir(), 'tp-build-'));
  symlinkSync(join(process.cwd(), 'node_modules'), join(dir, 'node_modules'), 'dir');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module', version: '0.0.0-test' }));
  const built = spawnSync(
    process.execPath,
    ['scripts/build.mjs', '--outdir', join(dir, 'dist'), '--no-sourcemap'],
    { encoding: 'utf8' },
  );
  expect(built.stderr).toBe('');
  expect(built.status).toBe(0);
}, 60_000);
afterAll(async () => {
  await cf?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the built server', () => {
  it('bundles the Cloudflare SDK and drives every resource it names, then deletes everything', async () => {
    expect(existsSync(join(dir, 'dist', 'main', 'tunnelplane.js'))).toBe(true);
    // The SDK is inside the bundle: nothing imports the package from node_modules.
    const files = readdirSync(join(dir, 'dist'), { recursive: true, encoding: 'utf8' }).filter((f) =>
      f.endsWith('.js'),
    );
    for (const f of files)
      expect(readFileSync(join(dir, 'dist', f), 'utf8')).not.toMatch(
        /from\s*["']cloudflare(\/[^"']*)?["']|import\(["']cloudflare/,
      );
    writeFileSync(join(dir, 'users.json'), JSON.stringify({ alice: 'alice-password' }));
    // An installation from the WAF-rule allow-lists: its rule goes once every allow-list is in Access.
    const db = `sqlite:${join(dir, 'db.sqlite')}`;
    expect(
      spawnSync(
        process.execPath,
        [join(dir, 'dist', 'main', 'tunnelplane.js'), 'migrate', '--database', db],
        { encoding: 'utf8', cwd: dir },
      ).status,
    ).toBe(0);
    const sqlite = new Database(join(dir, 'db.sqlite'));
    sqlite
      .prepare(
        "insert into settings (name, value) values ('firewall_hash', 'old'), ('installation_id', 'build')",
      )
      .run();
    sqlite.close();
    await cfHand(cf).call(
      'PUT',
      `/zones/${cf.zoneId}/rulesets/phases/http_request_firewall_custom/entrypoint`,
      {
        rules: [
          { action: 'block', expression: '(ip.src eq 192.0.2.1)', description: 'not ours', ref: 'theirs' },
          {
            action: 'block',
            expression: '(http.host eq "old.example.com" and not ip.src in {10.0.0.0/8})',
            ref: 'tunnelplane-build-allowlist-1',
          },
        ],
      },
    );
    const firewallRefs = () =>
      (cf.control.state() as any).rulesets
        .find((r: any) => r.phase === 'http_request_firewall_custom')
        .rules.map((r: any) => r.ref);
    const proc = spawn(
      process.execPath,
      [join(dir, 'dist', 'main', 'tunnelplane.js'), 'serve', '--port', '0', '--database', db],
      {
        cwd: dir,
        env: {
          PATH: process.env.PATH!,
          HOME: process.env.HOME!,
          TUNNELPLANE_CLOUDFLARE_BASE_URL: cf.url,
          TUNNELPLANE_CLOUDFLARE_API_TOKEN: cf.token,
          TUNNELPLANE_CLOUDFLARE_ZONE: cf.zoneName,
          TUNNELPLANE_USERS_FILE: join(dir, 'users.json'),
          TUNNELPLANE_DEFAULT_CONFIG_MODE: 'remote',
          TUNNELPLANE_RESYNC_SECONDS: '0',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      const url = await eventually((): string | false => {
        const line = out.split('\n').find((l) => l.includes('tunnelplane is serving'));
        return line ? (JSON.parse(line) as { url: string }).url : false;
      }, 20_000);
      const u = api(() => url as string, {
        authorization: `Basic ${Buffer.from('alice:alice-password').toString('base64')}`,
      });
      const t = (await u.post('/api/v1/tunnels?wait=10', {})).body;
      expect(t.phase).toBe('ready');
      const open = await u.post(`/api/v1/tunnels/${t.name}/routes?wait=10`, {
        service: 'http://localhost:8000',
        allowIps: ['203.0.113.0/24'],
      });
      const people = await u.post(`/api/v1/tunnels/${t.name}/routes?wait=10`, {
        service: 'http://localhost:9000',
        access: { emails: ['alice@example.org'] },
      });
      const tcp = await u.post(`/api/v1/tunnels/${t.name}/routes?wait=10`, {
        service: 'tcp://10.0.0.5:5432',
      });
      expect([open.body.phase, people.body.phase, tcp.body.phase]).toEqual(['ready', 'ready', 'ready']);

      const view = cfView(cf);
      expect(view.tunnels).toHaveLength(1);
      const tunnel = view.tunnels[0]!;
      const hosts = [open.body.hostname, people.body.hostname, tcp.body.hostname];
      expect((tunnel.ingress ?? []).map((i) => i.hostname ?? null).sort()).toEqual([...hosts, null].sort());
      expect(view.records.map((r) => r.name).sort()).toEqual([...hosts].sort());
      const s = cf.control.state() as any;
      const app = (host: string) => s.accessApps.find((a: any) => a.fields.domain === host);
      expect(cf.control.evaluateAccess(app(open.body.hostname).id, { ip: '203.0.113.9' }).admitted).toBe(
        true,
      );
      expect(cf.control.evaluateAccess(app(open.body.hostname).id, { ip: '192.0.2.9' }).admitted).toBe(false);
      expect(
        cf.control.evaluateAccess(app(people.body.hostname).id, {
          ip: '192.0.2.9',
          email: 'alice@example.org',
        }).admitted,
      ).toBe(true);
      expect(s.serviceTokens.filter((x: any) => x.name.startsWith('tunnelplane-build-'))).toHaveLength(1);
      await eventually(() => JSON.stringify(firewallRefs()) === JSON.stringify(['theirs']));

      expect((await u.del(`/api/v1/tunnels/${t.name}?wait=10`)).status).toBe(204);
      await eventually(() => cfView(cf).tunnels.length === 0 && cfView(cf).records.length === 0);
      expect((cf.control.state() as any).accessApps).toEqual([]);
      expect((cf.control.state() as any).serviceTokens).toEqual([]);
      expect(out).not.toMatch(/"level":(50|60)|Error:/);
    } finally {
      proc.kill('SIGTERM');
    }
  }, 60_000);
});
