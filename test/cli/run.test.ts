/**
 * `run`: --print in both modes, and real runs of a fake `cloudflared` (a shell script put first
 * on PATH) to check the arguments, the token in the environment rather than argv, the 0600
 * files in a 0700 directory removed at exit, exit codes, signal forwarding and ENOENT.
 */
import { EventEmitter } from 'node:events';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeServer, type FakeServer } from './fake-server.js';
import { installFakeCloudflared, tempDir, tunnelctl, userEnv, waitUntil } from './harness.js';

let fake: FakeServer;
let env: Record<string, string | undefined>;
let bin: string;
let tmp: string;

beforeAll(async () => {
  fake = await startFakeServer();
  bin = installFakeCloudflared();
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.reset();
  tmp = tempDir('tunnelctl-tmp-');
  env = userEnv(fake.url, 'user1', { TMPDIR: tmp, PATH: `${bin}:${process.env.PATH}` });
});

const mode = (path: string) => statSync(path).mode & 0o777;

describe('run --print', () => {
  it('local mode: writes config and credentials 0600 in a private 0700 directory and prints the command', async () => {
    const t = fake.seedTunnel('user1', { services: ['http://localhost:8000'] });
    const r = await tunnelctl(['run', t.name, '--print'], { env });
    expect(r.code).toBe(0);
    const m =
      /^cloudflared tunnel --config (\S+)\/config\.yaml run --cred-file (\S+)\/credentials\.json\n$/.exec(
        r.stdout,
      );
    expect(m, r.stdout).not.toBeNull();
    const dir = m![1]!;
    expect(m![2]).toBe(dir);
    expect(dirname(dir)).toBe(tmp);
    expect(mode(dir)).toBe(0o700);
    expect(mode(join(dir, 'config.yaml'))).toBe(0o600);
    expect(mode(join(dir, 'credentials.json'))).toBe(0o600);
    expect(readFileSync(join(dir, 'config.yaml'), 'utf8')).toBe(fake.configOf(t.name));
    expect(readFileSync(join(dir, 'credentials.json'), 'utf8')).toBe(fake.credentialsOf(t.name));
    expect(r.stderr).toContain(`to ${dir}; remove it when done`);
  });

  it('local mode -o json: the command as an array', async () => {
    const t = fake.seedTunnel('user1');
    const r = await tunnelctl(['run', t.name, '--print', '-o', 'json'], { env });
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ mode: 'local', env: {} });
    expect(out.command).toEqual([
      'cloudflared',
      'tunnel',
      '--config',
      join(out.dir, 'config.yaml'),
      'run',
      '--cred-file',
      join(out.dir, 'credentials.json'),
    ]);
  });

  it('remote mode: TUNNEL_TOKEN redacted unless --show-token', async () => {
    const t = fake.seedTunnel('user1', { configMode: 'remote' });
    const r = await tunnelctl(['run', t.name, '--print'], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("TUNNEL_TOKEN='<redacted>' cloudflared tunnel run\n");
    expect(r.stderr).toContain('--show-token');
    expect(fake.requests.some((q) => q.path.endsWith('/token'))).toBe(false);
    expect(readdirSync(tmp)).toEqual([]);

    const shown = await tunnelctl(['run', t.name, '--print', '--show-token'], { env });
    expect(shown.stdout).toBe(`TUNNEL_TOKEN=${fake.runTokenOf(t.name)} cloudflared tunnel run\n`);
    const json = JSON.parse(
      (await tunnelctl(['run', t.name, '--print', '--show-token', '-o', 'json'], { env })).stdout,
    );
    expect(json).toEqual({
      mode: 'remote',
      command: ['cloudflared', 'tunnel', 'run'],
      env: { TUNNEL_TOKEN: fake.runTokenOf(t.name) },
      dir: null,
    });
  });

  it('refuses a tunnel that failed provisioning', async () => {
    fake.setBehaviour({ failNextTunnel: 'boom' });
    await tunnelctl(['create', '--no-wait'], { env });
    const name = fake.tunnelsOf('user1')[0]!.name;
    const r = await tunnelctl(['run', name, '--print'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `Tunnel ${name} cannot run yet (phase error: create tunnel tunnelplane-test-${name}: Cloudflare answered 403 (10000): boom)`,
    );
  });
});

describe('run', () => {
  it('local mode: runs cloudflared with the files, returns its exit code, removes the directory', async () => {
    const t = fake.seedTunnel('user1', { services: ['http://localhost:8000'] });
    const r = await tunnelctl(['run', t.name], { env });
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(
      /^argv: tunnel --config \S+\/config\.yaml run --cred-file \S+\/credentials\.json$/m,
    );
    expect(r.stdout).toContain('token: none');
    expect(r.stdout).toContain('file config.yaml 600 dir 700');
    expect(r.stdout).toContain('file credentials.json 600 dir 700');
    expect(r.stdout).toContain(fake.configOf(t.name));
    expect(r.stdout).toContain(fake.credentialsOf(t.name));
    expect(r.stderr).toContain('cloudflared failing on purpose');
    expect(r.stderr).toContain('removed when it exits');
    // The private directory is gone.
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('remote mode: the token goes in TUNNEL_TOKEN, not argv', async () => {
    const t = fake.seedTunnel('user1', { configMode: 'remote' });
    const r = await tunnelctl(['run', t.name], { env });
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/^argv: tunnel run$/m);
    expect(r.stdout).toContain(`token: ${fake.runTokenOf(t.name)}`);
  });

  it('forwards SIGTERM and SIGINT to cloudflared', async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const t = fake.seedTunnel('user1');
      const signals = new EventEmitter();
      let stdout = () => '';
      const run = tunnelctl(['run', t.name], {
        env: { ...env, FAKE_CLOUDFLARED_WAIT: '1' },
        signals,
        onOutput: (o) => (stdout = o.stdout),
      });
      await waitUntil(() => stdout().includes('started'));
      expect(signals.listenerCount(signal)).toBe(1);
      signals.emit(signal);
      const r = await run;
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(signal === 'SIGTERM' ? 'got TERM' : 'got INT');
      expect(signals.listenerCount(signal)).toBe(0);
      expect(readdirSync(tmp)).toEqual([]);
    }
  });

  it('says where to get cloudflared when it is not installed, and cleans up', async () => {
    const t = fake.seedTunnel('user1');
    const empty = tempDir('tunnelctl-empty-path-');
    const r = await tunnelctl(['run', t.name], { env: { ...env, PATH: empty } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'error: cloudflared is not installed or not on PATH; see https://developers.cloudflare.com/cloudflare-one/connections/connect-networks/downloads/\n',
    );
    expect(r.stderr).not.toContain('Running cloudflared');
    expect(readdirSync(tmp)).toEqual([]);
    expect(existsSync(empty)).toBe(true);
  });
});
