/**
 * The server's command line as operators use it: `serve` from the proof of concept's secret/
 * folder (users.json, cloudflare.yaml, cert.pem), `dev --json`, `migrate`, `user …`, and clear
 * one-line failures for bad configuration.
 */
import { spawn, execFile } from 'node:child_process';
import https from 'node:https';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startCloudflareEmulator,
  type StartedCloudflareEmulator,
} from '../src/emulators/cloudflare/index.js';
import { formatOriginCert } from '../src/config/index.js';
import { api } from './support/stack.js';
import { signInAtProvider, TestBrowser } from './support/oidc-browser.js';

const run = promisify(execFile);
const bin = 'bin/tunnelplane.js';
let cf: StartedCloudflareEmulator;
const env = (extra: Record<string, string>) => ({
  PATH: process.env.PATH!,
  HOME: process.env.HOME!,
  ...extra,
});

/** Spawns the binary and resolves with the first stdout line or log line matching `ready`. */
function start(
  args: string[],
  opts: { cwd?: string; env: Record<string, string>; ready: (line: string) => string | null },
) {
  const proc = spawn(process.execPath, [join(process.cwd(), bin), ...args], {
    cwd: opts.cwd ?? process.cwd(),
    env: opts.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const done = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready: ${out.slice(-2000)}`)), 20_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      for (const line of out.split('\n')) {
        const hit = opts.ready(line);
        if (hit) {
          clearTimeout(timer);
          resolve(hit);
        }
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.on('exit', (code) => reject(new Error(`exited ${code}: ${out.slice(-2000)}`)));
  });
  return { proc, done, output: () => out };
}

/** `p`, or an error carrying the server's last output when it takes longer than `ms`. */
function within<T>(p: Promise<T>, ms: number, output: () => string): Promise<T> {
  return Promise.race([
    p,
    new Promise<never>((_, reject) =>
      setTimeout(
        () => reject(new Error(`no answer in ${ms} ms; the server said:\n${output().slice(-4000)}`)),
        ms,
      ),
    ),
  ]);
}

beforeAll(async () => {
  cf = await startCloudflareEmulator({ port: 0, zoneName: 'example.com' });
});
afterAll(async () => cf?.close());

describe('tunnelplane serve with the proof of concept secret/ layout', () => {
  it('reads users.json, cloudflare.yaml and cert.pem, and serves the PoC API', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tp-poc-'));
    mkdirSync(join(dir, 'secret'));
    writeFileSync(join(dir, 'secret', 'users.json'), JSON.stringify({ alice: 'alice-password' }));
    writeFileSync(
      join(dir, 'secret', 'cloudflared-cert.pem'),
      formatOriginCert({ zoneID: cf.zoneId, accountID: cf.accountId, apiToken: cf.token }),
    );
    writeFileSync(
      join(dir, 'secret', 'cloudflare.yaml'),
      'zone: example.com\ncert: secret/cloudflared-cert.pem\ndns_suffix: example.com\nnamespace: tunnel-control-plane\n',
    );
    const { proc, done } = start(['serve', '--port', '0'], {
      cwd: dir,
      env: env({ TUNNELPLANE_CLOUDFLARE_BASE_URL: cf.url, TUNNELPLANE_RESYNC_SECONDS: '0' }),
      ready: (l) => (l.includes('tunnelplane is serving') ? (JSON.parse(l) as { url: string }).url : null),
    });
    try {
      const url = await done;
      const u = api(() => url, {
        authorization: `Basic ${Buffer.from('alice:alice-password').toString('base64')}`,
      });
      const created = await u.post('/tunnels');
      expect(created.body.result).toBe('ok');
      const creds = await u.get(`/tunnels/${created.body.tunnel.name}/credentials`);
      expect(creds.body.AccountTag).toBe(cf.accountId);
      expect(
        (
          await u.request('GET', '/tunnels', undefined, {
            authorization: `Basic ${Buffer.from('alice:wrong').toString('base64')}`,
          })
        ).status,
      ).toBe(401);
    } finally {
      proc.kill('SIGTERM');
    }
  });

  it('refuses to start with every configuration problem listed, in one clear message', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tp-bad-'));
    writeFileSync(join(dir, 'bad.yaml'), 'listen: {port: 70000}\ncloudflare: {accountId: xyz}\n');
    const err = await run(
      process.execPath,
      [join(process.cwd(), bin), 'serve', '--config', join(dir, 'bad.yaml')],
      { cwd: dir, env: env({}) },
    ).catch((e) => e);
    expect(err.code).toBe(1);
    expect(err.stderr).toMatch(/Invalid configuration/);
    expect(err.stderr).toMatch(/listen\.port/);
    expect(err.stderr).toMatch(/cloudflare\.accountId/);
    expect(err.stderr).not.toMatch(/at .*\.ts:\d+/);
  });

  it('stops with one line when Cloudflare rejects the token', async () => {
    const err = await run(
      process.execPath,
      [join(process.cwd(), bin), 'serve', '--port', '0', '--database', 'sqlite::memory:'],
      {
        env: env({
          TUNNELPLANE_CLOUDFLARE_BASE_URL: cf.url,
          TUNNELPLANE_CLOUDFLARE_API_TOKEN: 'wrong-token',
          TUNNELPLANE_CLOUDFLARE_ZONE: 'example.com',
          TUNNELPLANE_SECRET_KEY: Buffer.alloc(32, 1).toString('base64'),
        }),
      },
    ).catch((e) => e);
    expect(err.code).toBe(1);
    expect(err.stderr).toMatch(/Cloudflare rejected the API token/);
  });
});

describe('tunnelplane dev, migrate and user', () => {
  it('dev --json prints one line with the control plane, users and emulator', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tp-dev-'));
    const { proc, done } = start(['dev', '--port', '0', '--json', '--data-dir', dir], {
      env: env({}),
      ready: (l) => (l.startsWith('{"controlPlane"') ? l : null),
    });
    try {
      const info = JSON.parse(await done);
      expect(info.controlPlane).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(info.users.map((x: any) => x.name)).toEqual(expect.arrayContaining(['user1', 'user2']));
      expect(Object.keys(info.cloudflare).sort()).toEqual([
        'accountId',
        'token',
        'url',
        'zoneId',
        'zoneName',
      ]);
      expect(info.kubernetes).toMatchObject({
        namespace: 'tunnel-control-plane',
        url: expect.stringMatching(/^https?:\/\//),
        token: expect.any(String),
      });
      const u = api(() => info.controlPlane, {
        authorization: `Basic ${Buffer.from('user1:user1password').toString('base64')}`,
      });
      expect((await u.post('/api/v1/tunnels', {})).status).toBe(201);
      // Single sign-on with no outside service: the local provider, its accounts, and a browser sign-in through it.
      expect(info.oidc).toMatchObject({
        issuer: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
        signIn: `${info.controlPlane}/auth/login`,
      });
      const ada = info.oidc.accounts.find((a: any) => a.username === 'ada');
      expect(ada.groups).toContain('tunnelplane-admins');
      const browser = new TestBrowser();
      const landed = await signInAtProvider(browser, `${info.oidc.signIn}?returnTo=/api/v1/me`, ada);
      expect(JSON.parse(landed.body)).toMatchObject({
        name: 'ada',
        role: 'admin',
        authenticatedWith: 'session',
      });
    } finally {
      proc.kill('SIGTERM');
    }
  });

  it('migrates and manages users from the command line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tp-users-'));
    const db = ['--database', `sqlite:${join(dir, 'db.sqlite')}`];
    const cli = (args: string[], input?: string) => {
      const p = run(process.execPath, [join(process.cwd(), bin), ...args], { env: env({}) });
      if (input !== undefined) {
        p.child.stdin!.end(input);
      }
      return p;
    };
    expect((await cli(['migrate', ...db])).stdout).toMatch(/applied: 0001_initial/);
    expect((await cli(['migrate', ...db])).stdout).toMatch(/up to date/);
    const added = await cli(['user', 'add', 'bob', ...db]);
    expect(added.stdout).toMatch(/^created bob; password: [a-z]{20}\n$/);
    expect(
      (await cli(['user', 'add', 'carol', '--admin', '--password-stdin', ...db], 'carol-password\n')).stdout,
    ).toBe('created carol\n');
    expect((await cli(['user', 'list', ...db])).stdout).toMatch(/bob\tuser\t.*\ncarol\tadmin\t/);
    expect((await cli(['user', 'passwd', 'bob', '--password-stdin', ...db], 'new-password\n')).stdout).toBe(
      'password of bob changed\n',
    );
    const dup = await cli(['user', 'add', 'bob', ...db]).catch((e) => e);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/already exists/);
    const missing = await cli(['user', 'remove', ...db]).catch((e) => e);
    expect(missing.code).toBe(2);
    expect((await cli(['user', 'remove', 'bob', ...db])).stdout).toBe('removed bob\n');
    // Nine processes, each starting the TypeScript entrypoint: a busy machine may take a while.
  }, 120_000);
});

/** key.pem and cert.pem for localhost in `dir`, valid a day. */
const selfSignedCert = (dir: string) =>
  run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=localhost',
    '-days',
    '1',
    '-keyout',
    join(dir, 'key.pem'),
    '-out',
    join(dir, 'cert.pem'),
  ]);

describe('TLS', () => {
  it('serves HTTPS when given a certificate and key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tp-tls-'));
    await selfSignedCert(dir);
    const { proc, done } = start(['serve', '--port', '0', '--database', `sqlite:${join(dir, 'db.sqlite')}`], {
      env: env({
        TUNNELPLANE_CLOUDFLARE_BASE_URL: cf.url,
        TUNNELPLANE_CLOUDFLARE_API_TOKEN: cf.token,
        TUNNELPLANE_CLOUDFLARE_ZONE: cf.zoneName,
        TUNNELPLANE_TLS_CERT: join(dir, 'cert.pem'),
        TUNNELPLANE_TLS_KEY: join(dir, 'key.pem'),
        TUNNELPLANE_RESYNC_SECONDS: '0',
      }),
      ready: (l) => (l.includes('tunnelplane is serving') ? (JSON.parse(l) as { url: string }).url : null),
    });
    try {
      const url = await done;
      expect(url).toMatch(/^https:\/\//);
      const body = await new Promise<string>((resolve, reject) => {
        https
          .get(`${url}/healthz`, { rejectUnauthorized: false }, (res) => {
            let data = '';
            res.on('data', (c) => (data += c));
            res.on('end', () => resolve(data));
          })
          .on('error', reject);
      });
      expect(JSON.parse(body)).toEqual({ status: 'ok' });
    } finally {
      proc.kill('SIGTERM');
    }
  });
});

describe('dev over TLS, and --help everywhere', () => {
  it('dev honours the TLS settings as serve does (its SSO callback is HTTPS too)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tp-devtls-'));
    await selfSignedCert(dir);
    const { proc, done } = start(
      [
        'dev',
        '--port',
        '0',
        '--json',
        '--data-dir',
        join(dir, 'data'),
        '--tls-cert',
        join(dir, 'cert.pem'),
        '--tls-key',
        join(dir, 'key.pem'),
      ],
      { env: env({}), ready: (l) => (l.startsWith('{"controlPlane"') ? l : null) },
    );
    try {
      const info = JSON.parse(await done);
      expect(info.controlPlane).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const login = await new Promise<{ status: number; location: string }>((resolve, reject) => {
        https
          .get(`${info.controlPlane}/auth/login`, { rejectUnauthorized: false }, (res) => {
            res.resume();
            resolve({ status: res.statusCode!, location: String(res.headers.location) });
          })
          .on('error', reject);
      });
      expect(login.status).toBe(302);
      expect(new URL(login.location).searchParams.get('redirect_uri')).toBe(
        `${info.controlPlane}/auth/callback`,
      );
    } finally {
      proc.kill('SIGTERM');
    }
  });

  it('answers --help for every command', async () => {
    for (const command of ['serve', 'dev', 'migrate', 'gc', 'user', 'emulate']) {
      const r = await run(process.execPath, [join(process.cwd(), bin), command, '--help'], { env: env({}) });
      expect([command, r.stdout]).toEqual([command, expect.stringContaining(`tunnelplane ${command}`)]);
    }
    const bad = await run(process.execPath, [join(process.cwd(), bin), 'nope', '--help'], {
      env: env({}),
    }).catch((e) => e);
    expect(bad.code).toBe(2);
  }, 60_000);
});

describe('shutdown', () => {
  it('answers waiting requests and exits promptly on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tp-term-'));
    writeFileSync(join(dir, 'users.json'), JSON.stringify({ alice: 'alice-password' }));
    const fault = cf.control.addFault({
      method: 'POST',
      path: '/accounts/*/cfd_tunnel',
      times: 1000,
      action: { type: 'error', status: 503, code: 10001, message: 'down' },
    });
    const { proc, done, output } = start(
      ['serve', '--port', '0', '--database', `sqlite:${join(dir, 'db.sqlite')}`],
      {
        env: env({
          TUNNELPLANE_CLOUDFLARE_BASE_URL: cf.url,
          TUNNELPLANE_CLOUDFLARE_API_TOKEN: cf.token,
          TUNNELPLANE_CLOUDFLARE_ZONE: cf.zoneName,
          TUNNELPLANE_USERS_FILE: join(dir, 'users.json'),
          TUNNELPLANE_RESYNC_SECONDS: '0',
          TUNNELPLANE_LOG_LEVEL: 'debug',
        }),
        ready: (l) => (l.includes('tunnelplane is serving') ? (JSON.parse(l) as { url: string }).url : null),
      },
    );
    try {
      const url = await done;
      const u = api(() => url, {
        authorization: `Basic ${Buffer.from('alice:alice-password').toString('base64')}`,
      });
      const waiting = u.post('/api/v1/tunnels?wait=60', {});
      await new Promise((r) => setTimeout(r, 500));
      const started = Date.now();
      const exited = new Promise<number | null>((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const res = await within(waiting, 20_000, output);
      expect(res.status).toBe(202);
      expect(res.body.phase).toBe('pending');
      expect(await within(exited, 20_000, output)).toBe(0);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      cf.control.removeFault(fault);
      if (proc.exitCode === null) proc.kill('SIGKILL');
    }
  }, 60_000);
});
