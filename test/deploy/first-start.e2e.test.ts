/**
 * First start of a fresh installation made from the `single` overlay's configuration: the
 * environment the rendered Deployment gives its container (the generated ConfigMap, the Secret's
 * keys, the Secret's files where it mounts them), run as `tunnelplane serve` on a new database.
 * Its initial admin signs in with the Secret's `initial-admin-password`, creates a user, who
 * creates a tunnel that Cloudflare (the emulator) then holds. Without that key the admin gets a
 * one-time token printed once, which sets a password. Nobody execs into a pod.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import {
  startCloudflareEmulator,
  type StartedCloudflareEmulator,
} from '../../src/emulators/cloudflare/index.js';
import { cfView } from '../support/cloudflare-view.js';
import { api } from '../support/stack.js';

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } };
}

const ROOT = join(import.meta.dirname, '..', '..');
const hasKubectl = (() => {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** The container's environment as the kubelet would build it from the rendered overlay. */
function overlayEnvironment(secret: Record<string, string>, mounts: Record<string, string>) {
  const docs = parseAllDocuments(
    execFileSync('kubectl', ['kustomize', join(ROOT, 'deploy', 'overlays', 'single')], { encoding: 'utf8' }),
  ).map(
    (d) =>
      d.toJS() as { kind: string; metadata: { name: string }; data?: Record<string, string>; spec?: any },
  );
  const deployment = docs.find((d) => d.kind === 'Deployment' && d.metadata.name === 'tunnelplane')!;
  const container = deployment.spec.template.spec.containers[0] as {
    envFrom: Array<{ configMapRef: { name: string } }>;
    env: EnvVar[];
  };
  // Paths inside the pod move to the test's folders (the volumes' mount points).
  const local = (v: string) => Object.entries(mounts).reduce((s, [pod, here]) => s.replaceAll(pod, here), v);
  const env: Record<string, string> = {};
  for (const from of container.envFrom) {
    const cm = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === from.configMapRef.name)!;
    for (const [k, v] of Object.entries(cm.data ?? {})) env[k] = local(v);
  }
  for (const e of container.env) {
    if (e.value !== undefined) env[e.name] = local(e.value);
    else if (e.valueFrom?.secretKeyRef) env[e.name] = secret[e.valueFrom.secretKeyRef.key]!;
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[e.name] = 'tunnelplane';
  }
  return env;
}

describe.skipIf(!hasKubectl)('first start from the single overlay', () => {
  let cf: StartedCloudflareEmulator;
  let dir: string;
  beforeAll(async () => {
    cf = await startCloudflareEmulator({ port: 0, zoneName: 'example.com' });
    dir = mkdtempSync(join(tmpdir(), 'tp-first-start-'));
  });
  afterAll(async () => {
    await cf?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** `serve` with the overlay's environment; what differs is only what a laptop is not (no cluster, the emulator). */
  function serve(name: string, secret: Record<string, string>) {
    const home = join(dir, name);
    const etc = join(home, 'etc');
    const data = join(home, 'data');
    mkdirSync(etc, { recursive: true });
    mkdirSync(data, { recursive: true });
    for (const [key, value] of Object.entries(secret))
      if (key === 'initial-admin-password' || key === 'users.json') writeFileSync(join(etc, key), value);
    const env: Record<string, string> = {
      ...overlayEnvironment(secret, { '/etc/tunnelplane': etc, '/var/lib/tunnelplane': data }),
      PATH: process.env.PATH!,
      HOME: home,
      TUNNELPLANE_HOST: '127.0.0.1',
      TUNNELPLANE_PORT: '0',
      TUNNELPLANE_CLOUDFLARE_BASE_URL: cf.url,
      TUNNELPLANE_KUBERNETES_IN_CLUSTER: 'false',
    };
    expect(env.TUNNELPLANE_DATABASE_URL).toBe(`sqlite:${data}/tunnelplane.db`);
    const proc = spawn(process.execPath, [join(ROOT, 'bin', 'tunnelplane.js'), 'serve'], { cwd: home, env });
    let out = '';
    const url = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not serving: ${out.slice(-2000)}`)), 60_000);
      const onData = (d: Buffer) => {
        out += d.toString();
        const m = /"url":"(http:\/\/[^"]+)"[^\n]*tunnelplane is serving/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      };
      proc.stdout.on('data', onData);
      proc.stderr.on('data', onData);
      proc.once('exit', (code) => reject(new Error(`serve exited ${code}: ${out.slice(-2000)}`)));
    });
    return { url, output: () => out, stop: () => proc.kill('SIGTERM') };
  }

  const secretKey = () => randomBytes(32).toString('base64');

  it('signs in its initial admin from the Secret, who creates a user, who creates a tunnel', async () => {
    const s = serve('with-password', {
      'cloudflare-api-token': cf.token,
      'secret-key': secretKey(),
      'initial-admin-password': 'a-first-admin-password\n',
    });
    try {
      const url = await s.url;
      const admin = api(() => url, {
        authorization: `Basic ${Buffer.from('admin:a-first-admin-password').toString('base64')}`,
      });
      expect((await admin.get('/api/v1/me')).body).toMatchObject({ name: 'admin', role: 'admin' });
      expect(
        (await admin.post('/api/v1/admin/users', { name: 'ana', password: 'ana-password' })).status,
      ).toBe(201);
      const ana = api(() => url, {
        authorization: `Basic ${Buffer.from('ana:ana-password').toString('base64')}`,
      });
      const t = await ana.post('/api/v1/tunnels?wait=20', {});
      expect([t.status, t.body.phase]).toEqual([201, 'ready']);
      expect(cfView(cf).tunnels.map((x) => x.id)).toContain(t.body.id);
      expect(s.output()).not.toContain('First start: no admin existed');
    } finally {
      s.stop();
    }
  }, 90_000);

  it('without the password key, prints a one-time admin token once, which sets a password', async () => {
    const s = serve('with-token', { 'cloudflare-api-token': cf.token, 'secret-key': secretKey() });
    try {
      const url = await s.url;
      const token = /First start: no admin existed[^\n]*\n {2}(tp_\S+)/.exec(s.output())![1]!;
      const bootstrap = api(() => url, { authorization: `Bearer ${token}` });
      expect(
        (
          await bootstrap.request('PUT', '/api/v1/admin/users/admin/password', {
            password: 'chosen-password',
          })
        ).status,
      ).toBe(200);
      const admin = api(() => url, {
        authorization: `Basic ${Buffer.from('admin:chosen-password').toString('base64')}`,
      });
      expect((await admin.get('/api/v1/admin/users')).status).toBe(200);
      // Printed once, never through the structured log.
      expect(s.output().split(token).length - 1).toBe(1);
      expect(s.output()).not.toMatch(new RegExp(`"[^"]*":"[^"]*${token}`));
    } finally {
      s.stop();
    }
  }, 90_000);
});
