/**
 * deploy/Dockerfile performed without a Docker engine (test/deploy/dockerfile.ts): the build
 * stage in a scratch folder holding exactly the files its COPY lines name (`npm ci` against the
 * registry through the local npm cache, then `npm run build`), the runtime stage assembled from
 * the build stage and the context as its COPY lines say, then run as the image would be: its
 * entrypoint, as its user's kind (numeric, not root), serving a temporary SQLite database
 * against the Cloudflare emulator. A file the build or the runtime needs and the Dockerfile does
 * not copy fails here. RUN layers are cached like Docker's (an unchanged package-lock.json does
 * not reinstall), so the first run takes minutes (the native SQLite module is compiled, as no
 * prebuilt binary can be downloaded here) and the next ones about one.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startCloudflareEmulator,
  type StartedCloudflareEmulator,
} from '../../src/emulators/cloudflare/index.js';
import { api, eventually } from '../support/stack.js';
import { buildImage, type BuiltImage } from './dockerfile.js';

let scratch: string;
let image: BuiltImage;
let cf: StartedCloudflareEmulator;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'tp-image-'));
  cf = await startCloudflareEmulator({ port: 0, zoneName: 'example.com' });
  image = buildImage({
    dockerfile: 'deploy/Dockerfile',
    context: process.cwd(),
    scratch,
    env: { npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false' },
    // The dependency layer only: the build's inputs (src/) change with nearly every commit.
    cacheRun: (run) => run.startsWith('npm ci'),
  });
  console.log(`image build steps:\n  ${image.log.join('\n  ')}`);
}, 600_000);
afterAll(async () => {
  await cf?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** The container's environment: the image's ENV over a bare PATH, plus what `docker run -e` adds. */
function containerEnv(extra: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: scratch, ...image.config.env, ...extra };
}

/** `docker run IMAGE ARGS…`: the entrypoint with ARGS in place of CMD, in the working directory. */
function command(args: string[]): [string, string[]] {
  const [program, ...rest] = image.config.entrypoint;
  expect(program).toBe('node');
  return [process.execPath, [...rest, ...args]];
}

const workdir = () => join(image.root, image.config.workdir);

describe('the image from deploy/Dockerfile', () => {
  it('runs as a numeric non-root user, starting with `tunnelplane serve`', () => {
    expect(image.config.user).toMatch(/^[1-9]\d*(:\d+)?$/);
    expect(image.config.entrypoint).toEqual(['node', 'bin/tunnelplane.js']);
    expect(image.config.cmd).toEqual(['serve']);
    expect(image.config.env['NODE_ENV']).toBe('production');
    // Built, not run from the sources: no TypeScript compiler or tsx in the image.
    expect(existsSync(join(workdir(), 'dist', 'main', 'tunnelplane.js'))).toBe(true);
    expect(existsSync(join(workdir(), 'node_modules', 'typescript'))).toBe(false);
    expect(existsSync(join(workdir(), 'node_modules', 'tsx'))).toBe(false);
    expect(existsSync(join(workdir(), 'src'))).toBe(false);
  });

  it('holds the server and tunnelctl', () => {
    const [node, args] = command(['--version']);
    const server = spawnSync(node, args, { cwd: workdir(), env: containerEnv({}), encoding: 'utf8' });
    expect(server.stderr).toBe('');
    expect(server.stdout).toMatch(/^tunnelplane \d+\.\d+\.\d+/);
    const ctl = spawnSync(process.execPath, ['bin/tunnelctl.js', '--version'], {
      cwd: workdir(),
      env: containerEnv({}),
      encoding: 'utf8',
    });
    expect(ctl.stderr).toBe('');
    expect(ctl.stdout).toMatch(/\d+\.\d+\.\d+/);
  });

  it('serves from a fresh SQLite database: health, readiness, a tunnel, and tunnelctl lists it', async () => {
    const data = mkdtempSync(join(scratch, 'data-'));
    writeFileSync(join(data, 'users.json'), JSON.stringify({ alice: 'alice-password' }));
    const [node, args] = command(['serve', '--port', '0', '--database', `sqlite:${join(data, 'db.sqlite')}`]);
    const proc = spawn(node, args, {
      cwd: workdir(),
      env: containerEnv({
        TUNNELPLANE_HOST: '127.0.0.1',
        TUNNELPLANE_CLOUDFLARE_BASE_URL: cf.url,
        TUNNELPLANE_CLOUDFLARE_API_TOKEN: cf.token,
        TUNNELPLANE_CLOUDFLARE_ZONE: cf.zoneName,
        TUNNELPLANE_USERS_FILE: join(data, 'users.json'),
        TUNNELPLANE_RESYNC_SECONDS: '0',
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      const url = (await eventually((): string | false => {
        const line = out.split('\n').find((l) => l.includes('tunnelplane is serving'));
        return line ? (JSON.parse(line) as { url: string }).url : false;
      }, 20_000)) as string;
      const anonymous = api(() => url, {});
      expect((await anonymous.get('/healthz')).status).toBe(200);
      expect((await anonymous.get('/readyz')).status).toBe(200);
      const alice = api(() => url, {
        authorization: `Basic ${Buffer.from('alice:alice-password').toString('base64')}`,
      });
      const tunnel = (await alice.post('/api/v1/tunnels?wait=10', {})).body as {
        name: string;
        phase: string;
      };
      expect(tunnel.phase).toBe('ready');

      const list = spawnSync(process.execPath, ['bin/tunnelctl.js', 'list'], {
        cwd: workdir(),
        env: containerEnv({ CONTROL_PLANE: url, USERPASS: 'alice:alice-password' }),
        encoding: 'utf8',
      });
      expect(list.status).toBe(0);
      expect(list.stdout).toContain(tunnel.name);
      expect(out).not.toMatch(/"level":(50|60)|Error:/);
    } finally {
      proc.kill('SIGTERM');
    }
  }, 60_000);
});
