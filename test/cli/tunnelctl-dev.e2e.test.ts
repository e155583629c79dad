/**
 * tunnelctl against the REAL server: `tunnelplane dev` (in-process Cloudflare emulator, SQLite in
 * a temporary directory) started as a child process. The proof of concept's README sequence and a
 * few structured verbs, in-process through runTunnelctl plus one run of the real binary.
 * Skipped until the server's entrypoint exists.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ROOT, spawnTunnelctl, tempDir, tunnelctl, userEnv } from './harness.js';

interface DevInfo {
  controlPlane: string;
  users: Array<{ name: string; password: string }>;
  cloudflare: Record<string, unknown>;
}

describe('tunnelctl against tunnelplane dev', () => {
  let server: ChildProcessWithoutNullStreams;
  let info: DevInfo;
  let dataDir: string;
  let env: Record<string, string | undefined>;
  let serverStderr = '';

  beforeAll(async () => {
    dataDir = tempDir('tunnelplane-dev-');
    server = spawn(
      process.execPath,
      [join(ROOT, 'bin', 'tunnelplane.js'), 'dev', '--port', '0', '--json', '--data-dir', dataDir],
      {
        cwd: ROOT,
        env: { ...process.env, NODE_ENV: 'test' },
      },
    );
    server.stderr.on('data', (d: Buffer) => (serverStderr += d.toString()));
    info = await new Promise<DevInfo>((resolve, reject) => {
      let out = '';
      // Generous: on two busy cores, the first start (tsx compiling src/) can take most of a minute.
      const timer = setTimeout(
        () => reject(new Error(`tunnelplane dev did not start in 60 s: ${serverStderr}`)),
        60_000,
      );
      server.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const line = out.split('\n').find((l) => l.trim().startsWith('{'));
        if (line && out.includes('\n')) {
          clearTimeout(timer);
          try {
            resolve(JSON.parse(line) as DevInfo);
          } catch (err) {
            reject(err);
          }
        }
      });
      server.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`tunnelplane dev exited with ${code}: ${serverStderr}`));
      });
    });
    const user1 = info.users.find((u) => u.name === 'user1');
    expect(user1, 'the dev server has user1').toBeDefined();
    // As the proof of concept's README wrote it: host:port, no scheme (http for 127.0.0.1).
    env = userEnv(info.controlPlane.replace(/^http:\/\//, ''), 'user1', {
      USERPASS: `user1:${user1!.password}`,
    });
  }, 65_000);

  afterAll(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server.once('exit', r));
      server.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (server.exitCode === null) server.kill('SIGKILL');
    }
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs the README sequence', async () => {
    // tunnelctl create
    const created = await tunnelctl(['create', '-o', 'json'], { env });
    expect(created.code, created.stderr).toBe(0);
    const tunnel = JSON.parse(created.stdout);
    expect(tunnel).toMatchObject({ owner: 'user1', configMode: 'local', phase: 'ready' });
    expect(tunnel.name).toMatch(/^[a-z]{8}$/);
    const name: string = tunnel.name;

    // tunnelctl list
    const listed = await tunnelctl(['list'], { env });
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`^${name}\\s+local\\s+ready`, 'm'));

    // tunnelctl credentials TUNNEL > credentials.json
    const creds = await tunnelctl(['credentials', name], { env });
    expect(creds.code, creds.stderr).toBe(0);
    expect(creds.stderr).toBe('');
    const credentials = JSON.parse(creds.stdout);
    expect(credentials.TunnelID).toBe(tunnel.id);
    expect(typeof credentials.TunnelSecret).toBe('string');
    expect(typeof credentials.AccountTag).toBe('string');

    // tunnelctl create TUNNEL http://localhost:8000
    const routed = await tunnelctl(['create', name, 'http://localhost:8000', '-o', 'json'], { env });
    expect(routed.code, routed.stderr).toBe(0);
    const route = JSON.parse(routed.stdout);
    expect(route).toMatchObject({ service: 'http://localhost:8000', protocol: 'http', phase: 'ready' });
    expect(route.hostname).toBe(
      `${route.name}-${name}.${String(info.cloudflare.zoneName ?? route.hostname.split('.').slice(1).join('.'))}`,
    );
    expect(routed.stderr).toContain('restart the running cloudflared');

    // tunnelctl config TUNNEL > config.yaml
    const config = await tunnelctl(['config', name], { env });
    expect(config.code, config.stderr).toBe(0);
    expect(config.stderr).toBe('');
    const parsed = parseYaml(config.stdout);
    expect(parsed.tunnel).toBe(tunnel.id);
    expect(parsed.ingress[0]).toEqual({ hostname: route.hostname, service: 'http://localhost:8000' });
    expect(parsed.ingress.at(-1)).toEqual({ service: 'http_status:404' });
  });

  it('structured verbs: tunnel, route, run --print, whoami, delete', async () => {
    const created = await tunnelctl(['tunnel', 'create', '--mode', 'remote', '-o', 'json'], { env });
    expect(created.code, created.stderr).toBe(0);
    const name: string = JSON.parse(created.stdout).name;

    const add = await tunnelctl(['route', 'add', name, 'http://localhost:9000', '--name', 'app'], { env });
    expect(add.code, add.stderr).toBe(0);
    expect(add.stderr).toContain('live without restarting cloudflared');
    const routes = JSON.parse((await tunnelctl(['route', 'list', name, '-o', 'json'], { env })).stdout);
    expect(routes.map((r: { name: string }) => r.name)).toEqual(['app']);

    const printed = await tunnelctl(['run', name, '--print'], { env });
    expect(printed.code, printed.stderr).toBe(0);
    expect(printed.stdout).toBe("TUNNEL_TOKEN='<redacted>' cloudflared tunnel run\n");
    const token = await tunnelctl(['token', name], { env });
    expect(token.code, token.stderr).toBe(0);
    expect(token.stdout.trim().length).toBeGreaterThan(20);

    const bad = await tunnelctl(['route', 'add', name, 'ftp://nope'], { env });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('route.invalid_service');

    const unknown = await tunnelctl(['credentials', 'nosuchtunnel'], { env });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('Tunnel nosuchtunnel not found; your tunnels: ');
    expect(unknown.stderr).toContain(name);

    const me = JSON.parse((await tunnelctl(['whoami', '-o', 'json'], { env })).stdout);
    expect(me).toMatchObject({ name: 'user1' });

    expect((await tunnelctl(['route', 'delete', name, 'app'], { env })).code).toBe(0);
    const del = await tunnelctl(['delete', name], { env });
    expect(del).toMatchObject({ code: 0, stdout: `tunnel ${name} deleted\n` });
  });

  it('adds protected routes and shows where TCP routes are reachable in the cluster', async () => {
    const name = JSON.parse((await tunnelctl(['tunnel', 'create', '-o', 'json'], { env })).stdout)
      .name as string;
    const tcp = await tunnelctl(
      ['route', 'add', name, 'tcp://192.168.1.10:10000', '--name', 'db', '-o', 'json'],
      { env },
    );
    expect(tcp.code, tcp.stderr).toBe(0);
    const route = JSON.parse(tcp.stdout);
    expect(route.protectedBy).toBe('access');
    expect(route.inCluster.address).toBe(
      `tunnel-access-db-${name}.tunnel-control-plane.svc.cluster.local:10000`,
    );
    const table = await tunnelctl(['route', 'list', name], { env });
    expect(table.stdout).toMatch(/PROTECTED\s+IN-CLUSTER/);
    expect(table.stdout).toContain(`tunnel-access-db-${name}.tunnel-control-plane.svc.cluster.local:10000`);

    const web = await tunnelctl(
      [
        'route',
        'add',
        name,
        'http://localhost:8080',
        '--allow-ips',
        '203.0.113.0/24, 198.51.100.7',
        '--access-emails',
        'a@example.org',
        '-o',
        'json',
      ],
      { env },
    );
    expect(web.code, web.stderr).toBe(0);
    expect(JSON.parse(web.stdout)).toMatchObject({
      allowIps: ['198.51.100.7', '203.0.113.0/24'],
      access: { emails: ['a@example.org'] },
    });
    const bad = await tunnelctl(['route', 'add', name, 'http://localhost:1', '--allow-ips', 'nope'], { env });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('route.invalid_allow_list');
    expect((await tunnelctl(['delete', name], { env })).code).toBe(0);
  });

  it('local run --print writes 0600 files', async () => {
    const name: string = JSON.parse((await tunnelctl(['create', '-o', 'json'], { env })).stdout).name;
    const r = await tunnelctl(['run', name, '--print', '-o', 'json'], {
      env: { ...env, TMPDIR: tempDir() },
    });
    expect(r.code, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout);
    expect(statSync(join(plan.dir, 'credentials.json')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(plan.dir, 'config.yaml'), 'utf8')).toContain(`tunnel: `);
  });

  it('login and logout with the real token API, through the real binary', async () => {
    const home = userEnv(info.controlPlane);
    const login = await spawnTunnelctl(['login'], home);
    expect(login.code, login.stderr).toBe(0);
    const file = join(home.XDG_CONFIG_HOME as string, 'tunnelctl', 'config.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const secret = JSON.parse(readFileSync(file, 'utf8')).token as string;
    expect(secret).toBeTruthy();
    const noPass = { ...home, USERPASS: undefined };
    const who = await tunnelctl(['whoami', '-o', 'json'], { env: noPass });
    expect(JSON.parse(who.stdout)).toMatchObject({ name: 'user1', auth: 'config' });
    const logout = await tunnelctl(['logout'], { env: noPass });
    expect(logout.code, logout.stderr).toBe(0);
    expect(logout.stderr).toContain('token revoked');
    // The revoked token is refused.
    const after = await tunnelctl(['whoami'], { env: { ...noPass, TUNNELCTL_TOKEN: secret } });
    expect(after.code).toBe(1);
    expect(after.stderr).toContain('check TUNNELCTL_TOKEN');
  });

  it('bad credentials against the real server', async () => {
    const r = await tunnelctl(['list'], { env: { ...env, USERPASS: 'user1:wrong' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('check USERPASS');
  });
});
