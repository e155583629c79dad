/**
 * `tunnelplane doctor` as operators run it (the real entrypoint, a configuration file) against
 * the Cloudflare and Kubernetes emulators and the local OpenID provider: all ok, then each
 * class of failure with its own message and key (several independent ones per process, to keep
 * the processes few), and `serve` saying what the doctor says when Cloudflare cannot be reached
 * or the kubeconfig is missing.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import {
  startCloudflareEmulator,
  type StartedCloudflareEmulator,
} from '../src/emulators/cloudflare/index.js';
import {
  startKubernetesEmulator,
  type StartedKubernetesEmulator,
} from '../src/emulators/kubernetes/index.js';
import { startLocalProvider, type LocalProvider } from '../src/identity/provider/local-provider.js';
import { commandUsage } from '../src/main/usage.js';
import { REQUIRED_ACCESS } from '../src/providers/kubernetes/index.js';
import { connectStore } from '../src/store/index.js';
import { createSecretBox } from '../src/domain/secret-box.js';
import { KEY_CHECK } from '../src/main/secret-key.js';

const run = promisify(execFile);
const bin = join(process.cwd(), 'bin/tunnelplane.js');
const env = { PATH: process.env.PATH!, HOME: process.env.HOME! };
const SECRET = Buffer.alloc(32, 7).toString('base64');

let cf: StartedCloudflareEmulator;
let failing: StartedCloudflareEmulator;
let kube: StartedKubernetesEmulator;
let idp: LocalProvider;
let closedPort: number;
let dir: string;
const client = { clientId: 'tunnelplane', clientSecret: 'doctor-client-secret' };

interface Check {
  check: string;
  status: 'ok' | 'warn' | 'fail' | 'skip';
  message: string;
  key?: string;
  fix?: string;
}

/** At most two processes at once: each costs a few seconds of CPU on a small machine. */
const slots = { free: 2, waiting: [] as Array<() => void> };
async function inSlot<T>(fn: () => Promise<T>): Promise<T> {
  if (slots.free === 0) await new Promise<void>((r) => slots.waiting.push(r));
  else slots.free--;
  try {
    return await fn();
  } finally {
    const next = slots.waiting.shift();
    if (next) next();
    else slots.free++;
  }
}
const SLOW = 90_000;

/** A port nobody listens on. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** The Role of deploy/base/rbac.yaml, as the emulator takes it. */
const deployRole = () =>
  parseAllDocuments(readFileSync('deploy/base/rbac.yaml', 'utf8'))
    .map(
      (d) =>
        d.toJSON() as {
          kind: string;
          rules?: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }>;
        },
    )
    .find((d) => d.kind === 'Role')!;

/** A configuration file in its own folder; returns its path. */
function configFile(name: string, config: Record<string, unknown>): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, stringify(config));
  return file;
}

/** A kubeconfig for the emulator with this token. */
function kubeconfigFile(name: string, token: string): string {
  const file = join(dir, `${name}.kubeconfig`);
  writeFileSync(file, kube.kubeconfig({ token }));
  return file;
}

/** `tunnelplane doctor --config FILE --json`: the exit status and the checks. */
async function doctor(file: string) {
  const res = await run(process.execPath, [bin, 'doctor', '--config', file, '--json'], {
    cwd: dir,
    env,
  }).catch((e: { code: number; stdout: string; stderr: string }) => e);
  const code = 'code' in res ? res.code : 0;
  const report = JSON.parse(res.stdout) as { ok: boolean; checks: Check[] };
  const find = (check: string) => report.checks.filter((c) => c.check === check);
  return { code, report, find, one: (check: string) => find(check)[0]! };
}

const base = () => ({
  secretKey: SECRET,
  database: { url: `sqlite:${join(dir, 'ok.sqlite')}` },
  cloudflare: { apiToken: cf.token, zoneName: cf.zoneName, baseUrl: cf.url, timeoutMs: 3000 },
});

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tp-doctor-'));
  cf = await startCloudflareEmulator({ port: 0, zoneName: 'example.com' });
  failing = await startCloudflareEmulator({ port: 0, zoneName: 'example.com' });
  failing.control.addFault({
    path: '/user/tokens/verify',
    times: 1000,
    action: { type: 'error', status: 503 },
  });
  kube = await startKubernetesEmulator({ namespaces: ['tunnelplane', 'default'] });
  idp = await startLocalProvider({
    clients: [
      { ...client, redirectUris: ['http://127.0.0.1:5000/auth/callback'], postLogoutRedirectUris: [] },
    ],
  });
  closedPort = await freePort();
});
afterAll(async () => {
  await Promise.all([cf?.close(), failing?.close(), kube?.close(), idp?.close()]);
});

describe('tunnelplane doctor', { timeout: SLOW }, () => {
  it('checks the verbs deploy/base/rbac.yaml grants, and answers --help with its usage', () => {
    const granted = deployRole().rules!.flatMap((r) =>
      r.apiGroups.flatMap((group) =>
        r.resources.flatMap((resource) => r.verbs.map((verb) => `${verb} ${group}/${resource}`)),
      ),
    );
    expect(REQUIRED_ACCESS.map((a) => `${a.verb} ${a.group}/${a.resource}`).sort()).toEqual(granted.sort());
    expect(commandUsage('doctor')).toMatch(
      /tunnelplane doctor \[--config FILE\] \[--secret-dir DIR\] \[--json\]/,
    );
  });

  it.concurrent('passes a configuration serve would start with (exit 0)', async () => {
    const token = kube.control.addToken({ namespace: 'tunnelplane', role: deployRole() as never });
    const file = configFile('ok', {
      ...base(),
      kubernetes: { kubeconfig: kubeconfigFile('ok', token), namespace: 'tunnelplane' },
      identity: { oidc: { issuer: idp.issuer, ...client } },
    });
    const { code, report, one } = await doctor(file);
    expect(report.checks.filter((c) => c.status !== 'ok')).toEqual([]);
    expect(code).toBe(0);
    expect(report.ok).toBe(true);
    expect(one('Cloudflare zone').message).toContain(
      `example.com (zone ${cf.zoneId}, account ${cf.accountId})`,
    );
    expect(one('Cloudflare plan').message).toBe(
      'Free Website: up to 200 operations per DNS batch; cloudflare.dnsBatchLimit is 200',
    );
    expect(one('Kubernetes access').message).toMatch(
      /may list, create, patch and delete .* in namespace tunnelplane/,
    );
    expect(one('identity provider').message).toContain(idp.issuer);
    expect(one('database').message).toMatch(/does not exist yet: serve creates it/);
  });

  it.concurrent('says whether the key opens what the database holds sealed', async () => {
    const url = `sqlite:${join(dir, 'sealed.sqlite')}`;
    const { store, close } = await connectStore(url);
    await store.settings.setOnce(
      KEY_CHECK,
      createSecretBox(Buffer.from(SECRET, 'base64')).seal(Buffer.from('x')),
    );
    await close();
    const same = await doctor(configFile('same-key', { ...base(), database: { url } }));
    expect(same.one('secret key and database')).toMatchObject({ status: 'ok' });
    const other = Buffer.alloc(32, 9).toString('base64');
    const wrong = await doctor(configFile('other-key', { ...base(), secretKey: other, database: { url } }));
    expect(wrong.code).toBe(1);
    expect(wrong.one('secret key and database')).toMatchObject({
      status: 'fail',
      key: 'secretKey',
      message: expect.stringMatching(/cannot open the secrets the database holds/),
    });
  });

  it.concurrent(
    'names the key of a failing Cloudflare, a missing kubeconfig, a database that is down and an unreachable issuer (exit 1)',
    async () => {
      const kubeconfig = join(dir, 'nowhere', 'kubeconfig');
      const file = configFile('down', {
        secretKey: SECRET,
        database: { url: `postgres://tunnelplane:secret@127.0.0.1:${closedPort}/tunnelplane` },
        cloudflare: {
          apiToken: failing.token,
          zoneName: 'example.com',
          baseUrl: failing.url,
          timeoutMs: 3000,
        },
        kubernetes: { kubeconfig },
        identity: { oidc: { issuer: `http://127.0.0.1:${closedPort}`, ...client } },
      });
      const { code, report, one } = await doctor(file);
      expect(code).toBe(1);
      expect(report.ok).toBe(false);
      expect(one('Cloudflare API')).toMatchObject({
        status: 'fail',
        key: 'cloudflare.baseUrl',
        message: expect.stringMatching(
          new RegExp(`^cannot reach Cloudflare at ${failing.url}: verify API token: Cloudflare answered 503`),
        ),
        fix: expect.stringMatching(/try again later/),
      });
      expect(one('Cloudflare token').status).toBe('skip');
      expect(one('kubeconfig')).toMatchObject({
        status: 'fail',
        key: 'kubernetes.kubeconfig',
        message: `no such file ${kubeconfig}`,
      });
      expect(JSON.stringify(report)).not.toMatch(/ENOENT/);
      expect(one('database')).toMatchObject({
        status: 'fail',
        key: 'database.url',
        message: expect.stringMatching(
          /^cannot open the database postgres:\/\/tunnelplane:\*\*\*@127\.0\.0\.1:\d+\/tunnelplane: .*ECONNREFUSED/,
        ),
        fix: 'start PostgreSQL, or correct the host and port in database.url',
      });
      expect(JSON.stringify(report)).not.toContain('secret@');
      expect(one('identity provider')).toMatchObject({
        status: 'fail',
        key: 'identity.oidc.issuer',
        message: expect.stringMatching(/^cannot reach http:\/\/127\.0\.0\.1:\d+/),
      });
    },
  );

  it.concurrent(
    'names a missing Kubernetes verb, a DNS batch limit above the plan, an unwritable SQLite path, an unreadable Access and a refused client',
    async () => {
      const role = deployRole();
      const token = kube.control.addToken({
        namespace: 'tunnelplane',
        rules: role.rules!.flatMap((r) =>
          r.resources.map((resource) => ({
            ...r,
            resources: [resource],
            verbs: resource === 'secrets' ? r.verbs.filter((v) => v !== 'patch') : r.verbs,
          })),
        ),
      });
      const noAccess = cf.control.addToken({ permissions: { tunnels: 'edit', dns: 'edit', zones: 'read' } });
      writeFileSync(join(dir, 'a-file'), 'not a directory');
      const file = configFile('partial', {
        ...base(),
        database: { url: `sqlite:${join(dir, 'a-file', 'db.sqlite')}` },
        cloudflare: { ...base().cloudflare, apiToken: noAccess, dnsBatchLimit: 3500 },
        kubernetes: { kubeconfig: kubeconfigFile('partial', token), namespace: 'tunnelplane' },
        identity: { oidc: { issuer: idp.issuer, clientId: client.clientId, clientSecret: 'wrong-secret' } },
      });
      const { code, find, one } = await doctor(file);
      expect(code).toBe(1);
      expect(find('Kubernetes access')).toEqual([
        {
          check: 'Kubernetes access',
          status: 'fail',
          key: 'kubernetes.kubeconfig',
          message: 'may not patch secrets in namespace tunnelplane',
          fix: expect.stringContaining('deploy/base/rbac.yaml'),
        },
      ]);
      expect(one('Cloudflare plan')).toMatchObject({
        status: 'fail',
        key: 'cloudflare.dnsBatchLimit',
        message: expect.stringMatching(/Free Website\) allows 200 operations per DNS batch, not 3500/),
      });
      expect(find('Cloudflare permissions').map((c) => [c.status, c.key, c.message.split(':')[0]])).toEqual([
        [
          'warn',
          'cloudflare.apiToken',
          'the API token may not read Access applications (needed by protected routes',
        ],
        [
          'warn',
          'cloudflare.apiToken',
          'the API token may not read service tokens (needed by protected routes',
        ],
      ]);
      expect(one('database')).toMatchObject({
        status: 'fail',
        key: 'database.url',
        message: expect.stringMatching(/a-file is not a directory this process may write/),
      });
      expect(one('identity provider')).toMatchObject({ status: 'fail', key: 'identity.oidc.clientSecret' });
    },
  );

  it.concurrent('names the token Cloudflare rejects', async () => {
    const file = configFile('token', {
      ...base(),
      cloudflare: { ...base().cloudflare, apiToken: 'x'.repeat(40) },
    });
    const { code, one } = await doctor(file);
    expect(code).toBe(1);
    expect(one('Cloudflare API').status).toBe('ok');
    expect(one('Cloudflare token')).toMatchObject({
      status: 'fail',
      key: 'cloudflare.apiToken',
      message: expect.stringMatching(
        /^Cloudflare rejected the API token: verify API token: Cloudflare answered 401 \(1000\)/,
      ),
    });
    expect(one('Cloudflare zone').status).toBe('skip');
  });

  it.concurrent('names a zone the token cannot see, and every configuration problem by its key', async () => {
    const zone = await doctor(
      configFile('zone', { ...base(), cloudflare: { ...base().cloudflare, zoneName: 'missing.example' } }),
    );
    expect(zone.code).toBe(1);
    expect(zone.one('Cloudflare zone')).toMatchObject({
      status: 'fail',
      key: 'cloudflare.zoneName',
      message: 'Cloudflare has no zone named missing.example visible to this token',
    });
    const bad = await doctor(
      configFile('bad', { listen: { port: 70000 }, cloudflare: { accountId: 'xyz' } }),
    );
    expect(bad.code).toBe(1);
    expect(bad.find('configuration').map((c) => c.key)).toEqual(
      expect.arrayContaining([
        'listen.port',
        'cloudflare.accountId',
        'cloudflare.apiToken',
        'cloudflare.zoneName',
      ]),
    );
    expect(bad.find('configuration').find((c) => c.key === 'listen.port')!.fix).toBe(
      'correct listen.port in the configuration file or TUNNELPLANE_PORT',
    );
  });
});

describe('serve says what the doctor says', { timeout: SLOW }, () => {
  const serve = (extra: Record<string, string>) =>
    inSlot(() =>
      run(process.execPath, [bin, 'serve', '--port', '0', '--database', 'sqlite::memory:'], {
        cwd: dir,
        env: {
          ...env,
          TUNNELPLANE_SECRET_KEY: SECRET,
          TUNNELPLANE_CLOUDFLARE_ZONE: 'example.com',
          TUNNELPLANE_RESYNC_SECONDS: '0',
          ...extra,
        },
      }).catch((e: { code: number; stderr: string }) => e),
    );

  it.concurrent('an unreachable Cloudflare is one it cannot reach, not a rejected token', async () => {
    const err = (await serve({
      TUNNELPLANE_CLOUDFLARE_BASE_URL: `http://127.0.0.1:${closedPort}/client/v4`,
      TUNNELPLANE_CLOUDFLARE_API_TOKEN: cf.token,
      TUNNELPLANE_CLOUDFLARE_STARTUP_WAIT_SECONDS: '1',
    })) as { code: number; stderr: string };
    expect(err.code).toBe(1);
    expect(err.stderr).toMatch(
      new RegExp(
        `cloudflare\\.baseUrl: cannot reach Cloudflare at http://127\\.0\\.0\\.1:${closedPort}/client/v4: .*still failing after 1 s`,
      ),
    );
    expect(err.stderr).not.toMatch(/rejected/);
  });

  it.concurrent('a missing kubeconfig is named, not a bare ENOENT', async () => {
    const missing = join(dir, 'missing.kubeconfig');
    const err = (await serve({
      TUNNELPLANE_CLOUDFLARE_BASE_URL: cf.url,
      TUNNELPLANE_CLOUDFLARE_API_TOKEN: cf.token,
      TUNNELPLANE_KUBECONFIG: missing,
    })) as { code: number; stderr: string };
    expect(err.code).toBe(1);
    expect(err.stderr).toContain(`tunnelplane: kubernetes.kubeconfig: no such file ${missing}`);
    expect(err.stderr).not.toMatch(/ENOENT/);
  });
});
