/**
 * tunnelctl installed the way a user installs it, without the repository: the packed tarball
 * (scripts/pack-tunnelctl.mjs: one bundled file, no dependencies) installed into a scratch
 * folder outside the checkout, then the README's sequence run with that binary against
 * `tunnelplane dev`, and the outcome checked in the emulated Cloudflare.
 */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');

describe('the packed tunnelctl, installed outside the checkout', () => {
  let scratch: string;
  let bin: string;
  let server: ChildProcessWithoutNullStreams;
  let info: { controlPlane: string; cloudflare: { url: string; token: string; accountId: string } };

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'tunnelctl-install-'));
    const packed = await run(process.execPath, [
      join(ROOT, 'scripts', 'pack-tunnelctl.mjs'),
      '--outdir',
      scratch,
    ]);
    const tarball = packed.stdout.trim();
    expect(tarball).toMatch(/tunnelctl-\d+\.\d+\.\d+\.tgz$/);
    const home = join(scratch, 'home');
    // A folder of its own, nothing of the checkout beside it; the tarball has no dependencies to fetch.
    await run(
      'npm',
      ['install', '--no-audit', '--no-fund', '--offline', '--prefix', join(scratch, 'app'), tarball],
      {
        cwd: scratch,
        env: { ...process.env, HOME: home, npm_config_cache: join(scratch, 'npm-cache') },
      },
    );
    bin = join(scratch, 'app', 'node_modules', '.bin', 'tunnelctl');
    expect(readdirSync(join(scratch, 'app', 'node_modules')).filter((n) => !n.startsWith('.'))).toEqual([
      'tunnelctl',
    ]);

    server = spawn(
      process.execPath,
      [
        join(ROOT, 'bin', 'tunnelplane.js'),
        'dev',
        '--port',
        '0',
        '--json',
        '--data-dir',
        join(scratch, 'dev'),
      ],
      {
        cwd: ROOT,
      },
    );
    let err = '';
    server.stderr.on('data', (d: Buffer) => (err += d.toString()));
    info = await new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`dev did not start: ${err}`)), 60_000);
      server.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (line && out.includes('\n')) {
          clearTimeout(timer);
          resolve(JSON.parse(line));
        }
      });
      server.once('exit', (code) => reject(new Error(`dev exited with ${code}: ${err}`)));
    });
  }, 120_000);

  afterAll(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server.once('exit', r));
      server.kill('SIGTERM');
      await exited;
    }
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('runs the README sequence from a folder that is not the checkout', async () => {
    const work = mkdtempSync(join(scratch, 'work-'));
    const env = {
      PATH: process.env.PATH,
      HOME: join(scratch, 'home'),
      CONTROL_PLANE: info.controlPlane.replace(/^http:\/\//, ''),
      USERPASS: 'user1:user1password',
    };
    const ctl = (...args: string[]) => run(bin, args, { cwd: work, env });
    expect((await ctl('--version')).stdout).toMatch(/^tunnelctl \d+\.\d+\.\d+/);
    const created = await ctl('create', '-o', 'json');
    const tunnel = (JSON.parse(created.stdout) as { name: string }).name;
    expect((await ctl('list')).stdout).toContain(tunnel);
    const creds = JSON.parse((await ctl('credentials', tunnel)).stdout) as { TunnelID: string };
    const route = await ctl('create', tunnel, 'http://localhost:8000');
    expect(route.stdout + route.stderr).toMatch(/\.example\.com/);
    const config = (await ctl('config', tunnel)).stdout;
    expect(config).toContain(`tunnel: ${creds.TunnelID}`);
    expect(config).toContain('service: http://localhost:8000');
    // The outcome in the emulated Cloudflare: the tunnel and a proxied record for the route.
    const cf = async (path: string) =>
      (await fetch(`${info.cloudflare.url}${path}`, {
        headers: { authorization: `Bearer ${info.cloudflare.token}` },
      }).then((r) => r.json())) as {
        result: Array<{ id?: string; name: string; content?: string; proxied?: boolean }>;
      };
    const tunnels = await cf(`/accounts/${info.cloudflare.accountId}/cfd_tunnel?is_deleted=false`);
    expect(tunnels.result.map((t) => t.id)).toContain(creds.TunnelID);
    await ctl('delete', tunnel);
    expect((await ctl('list')).stdout).not.toContain(tunnel);
  }, 60_000);

  it('has nothing of the checkout in the package: one bundled file and its package.json', () => {
    const pkg = join(scratch, 'app', 'node_modules', 'tunnelctl');
    expect(readdirSync(pkg).sort()).toEqual(['README.md', 'lib', 'package.json']);
    expect(readdirSync(join(pkg, 'lib', 'cli'))).toEqual(['tunnelctl.mjs']);
    const manifest = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest.dependencies).toBeUndefined();
  });
});
