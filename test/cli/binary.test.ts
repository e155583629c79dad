/**
 * The real binary, `node bin/tunnelctl.js` (through tsx when not built): the wiring from
 * src/main/tunnelctl.ts, exit codes, and `> credentials.json` / `> config.yaml` redirections
 * done by a real shell.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startFakeServer, type FakeServer } from './fake-server.js';
import {
  ROOT,
  installFakeCloudflared,
  spawnTunnelctl,
  tempDir,
  userEnv,
  waitUntil,
  type RunResult,
} from './harness.js';

let fake: FakeServer;

beforeAll(async () => {
  fake = await startFakeServer();
});
afterAll(() => fake.close());

function sh(script: string, env: Record<string, string | undefined>, cwd: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', script], { env: env as NodeJS.ProcessEnv, cwd });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('bin/tunnelctl.js', () => {
  it('runs the README sequence in a real shell, files redirected byte for byte', async () => {
    const work = tempDir('tunnelctl-readme-');
    const env = userEnv(fake.url.replace('http://', ''), 'user1', {
      TUNNELCTL: `node ${join(ROOT, 'bin', 'tunnelctl.js')}`,
    });
    const created = await sh('$TUNNELCTL create -o json', env, work);
    expect(created.code, created.stderr).toBe(0);
    const name = JSON.parse(created.stdout).name as string;
    const rest = await sh(
      [
        '$TUNNELCTL list',
        `$TUNNELCTL credentials ${name} > credentials.json`,
        `$TUNNELCTL create ${name} http://localhost:8000`,
        `$TUNNELCTL config ${name} > config.yaml`,
      ].join(' && '),
      env,
      work,
    );
    expect(rest.code, rest.stderr).toBe(0);
    expect(rest.stdout).toMatch(new RegExp(`^${name}\\s+local\\s+ready`, 'm'));
    expect(readFileSync(join(work, 'credentials.json'), 'utf8')).toBe(fake.credentialsOf(name));
    expect(readFileSync(join(work, 'config.yaml'), 'utf8')).toBe(fake.configOf(name));
    expect(readFileSync(join(work, 'config.yaml'), 'utf8')).toContain('service: http://localhost:8000');
    expect(rest.stderr).toContain('restart the running cloudflared');
  });

  it('exit codes: 0 help, 2 usage, 1 failure, and no stack trace', async () => {
    const port = await freePort();
    const env = userEnv(`localhost:${port}`);
    const [help, usage, down] = await Promise.all([
      spawnTunnelctl(['--help'], env),
      spawnTunnelctl(['credentials'], env),
      spawnTunnelctl(['list'], env),
    ]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('cloudflared tunnel --config config.yaml run --cred-file credentials.json');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^Missing parameter: TUNNEL\n/);
    expect(down.code).toBe(1);
    expect(down.stderr).toBe(
      `error: Cannot reach the control plane at http://localhost:${port}/api/v1/tunnels (connection refused): check CONTROL_PLANE and that the server is running\n`,
    );
  });

  it('run: a Ctrl-C (SIGINT to the whole process group) reaches cloudflared once, through tunnelctl', async () => {
    const t = fake.seedTunnel('user1');
    const env = userEnv(fake.url, 'user1', {
      PATH: `${installFakeCloudflared()}:${process.env.PATH}`,
      FAKE_CLOUDFLARED_WAIT: '1',
    });
    // tunnelctl leads a process group of its own, as a shell's foreground job would.
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'tunnelctl.js'), 'run', t.name], {
      env: env as NodeJS.ProcessEnv,
      detached: true,
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    await waitUntil(() => stdout.includes('started'), 15_000);
    // cloudflared is in a group of its own, so the terminal's SIGINT does not reach it directly.
    expect(/^pgid: (\d+)$/m.exec(stdout)?.[1]).not.toBe(String(child.pid));
    process.kill(-(child.pid as number), 'SIGINT');
    expect(await exited).toBe(0);
    expect(stdout.match(/got INT/g)).toEqual(['got INT']);
  });

  it('login --password-stdin through a pipe', async () => {
    const env = userEnv(fake.url, 'user1', { USERPASS: undefined });
    const r = await spawnTunnelctl(
      ['login', '--server', fake.url, '--user', 'user2', '--password-stdin'],
      env,
      'user2password\n',
    );
    expect(r.code, r.stderr).toBe(0);
    const saved = JSON.parse(
      readFileSync(join(env.XDG_CONFIG_HOME as string, 'tunnelctl', 'config.json'), 'utf8'),
    );
    expect(saved).toMatchObject({ server: fake.url, user: 'user2' });
  });
});
