/**
 * `tunnelplane dev`: the server with in-process Cloudflare and Kubernetes emulators, a local
 * OpenID provider (single sign-on with demo accounts and groups) and demo users, its data in a
 * folder of its own (SQLite), until SIGINT or SIGTERM.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/index.js';
import { hashPassword } from '../domain/passwords.js';
import type { Runtime } from './runtime.js';
import { onSignals } from './shutdown.js';
import { UsageError } from './usage.js';
import { VERSION } from './version.js';
import { freePort } from './free-port.js';

const DEMO_USERS = [
  { name: 'user1', password: 'user1password', role: 'user' as const },
  { name: 'user2', password: 'user2password', role: 'user' as const },
  { name: 'admin', password: 'adminpassword', role: 'admin' as const },
];

/** Returns once listening (after printing how to reach it); the process lives until a signal stops it. */
export async function devCommand(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', short: 'p', default: '5000' },
      host: { type: 'string', default: '127.0.0.1' },
      'data-dir': { type: 'string' },
      json: { type: 'boolean', default: false },
      'log-level': { type: 'string', default: 'warn' },
      // TLS as `serve` takes it (tls.cert / tls.key, or TUNNELPLANE_TLS_CERT / _KEY).
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
    },
    strict: true,
  });
  let port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port must be 0-65535, got ${values.port}`);
  if (port === 0) port = await freePort(values.host!);
  const tlsCert = values['tls-cert'] ?? process.env.TUNNELPLANE_TLS_CERT;
  const tlsKey = values['tls-key'] ?? process.env.TUNNELPLANE_TLS_KEY;
  if (!tlsCert !== !tlsKey) throw new UsageError('TLS needs both --tls-cert and --tls-key');
  const tls = tlsCert && tlsKey ? { cert: resolve(tlsCert), key: resolve(tlsKey) } : undefined;
  const dataDir = values['data-dir']
    ? resolve(values['data-dir'])
    : mkdtempSync(join(tmpdir(), 'tunnelplane-dev-'));
  mkdirSync(dataDir, { recursive: true });

  // The emulators are loaded for `dev` only, not by `serve`.
  const { startCloudflareEmulator } = await import('../emulators/cloudflare/index.js');
  const { startKubernetesEmulator } = await import('../emulators/kubernetes/index.js');
  const emulator = await startCloudflareEmulator({
    port: 0,
    zoneName: 'example.com',
    statePath: join(dataDir, 'cloudflare-state.json'),
  });
  // TLS: kubectl sends its token only over HTTPS, and operators will point kubectl at it.
  const kube = await startKubernetesEmulator({ port: 0, namespaces: ['tunnel-control-plane'], tls: true });
  const kubeconfig = join(dataDir, 'kubeconfig');
  writeFileSync(kubeconfig, kube.kubeconfig(), { mode: 0o600 });
  const { createLogger, createRuntime } = await import('./runtime.js');
  const logger = createLogger(values['log-level']!);
  // Single sign-on with no outside service: the local provider knows this server as its client.
  const { startLocalProvider } = await import('../identity/provider/local-provider.js');
  const browserHost = values.host === '0.0.0.0' || values.host === '::' ? '127.0.0.1' : values.host!;
  const publicUrl = `${tls ? 'https' : 'http'}://${browserHost.includes(':') ? `[${browserHost}]` : browserHost}:${port}`;
  const client = { clientId: 'tunnelplane-dev', clientSecret: randomBytes(24).toString('base64url') };
  const idp = await startLocalProvider({
    host: '127.0.0.1',
    clients: [
      { ...client, redirectUris: [`${publicUrl}/auth/callback`], postLogoutRedirectUris: [`${publicUrl}/`] },
    ],
    logger: logger.child({ component: 'oidc-provider' }),
  });
  let runtime: Runtime;
  try {
    const config = loadConfig({
      env: {},
      defaults: {
        listen: { host: values.host, port },
        ...(tls ? { tls } : {}),
        database: { url: `sqlite:${join(dataDir, 'tunnelplane.db')}` },
        secretKeyFile: join(dataDir, 'secret.key'),
        cloudflare: {
          apiToken: emulator.token,
          accountId: emulator.accountId,
          zoneName: emulator.zoneName,
          baseUrl: emulator.url,
          timeoutMs: 5000,
        },
        tunnels: { defaultConfigMode: 'local' },
        reconciler: { resyncSeconds: 60 },
        kubernetes: { kubeconfig, namespace: kube.namespace },
        identity: {
          publicUrl,
          oidc: {
            issuer: idp.issuer,
            ...client,
            adminGroups: ['tunnelplane-admins'],
            teamGroupPrefix: 'team-',
          },
        },
        log: { level: values['log-level'] },
      },
    });
    runtime = await createRuntime(config, { logger });
    for (const u of DEMO_USERS) {
      if (!(await runtime.store.users.byName(u.name))) {
        await runtime.store.users.create({
          name: u.name,
          passwordHash: await hashPassword(u.password),
          role: u.role,
        });
      }
    }
  } catch (err) {
    await emulator.close();
    await kube.close();
    await idp.close();
    throw err;
  }
  const url = (await runtime.listen()).replace(
    '127.0.0.1',
    values.host === '127.0.0.1' ? '127.0.0.1' : values.host!,
  );
  const info = {
    controlPlane: url,
    users: DEMO_USERS.map(({ name, password, role }) => ({ name, password, role })),
    cloudflare: {
      url: emulator.url,
      token: emulator.token,
      accountId: emulator.accountId,
      zoneId: emulator.zoneId,
      zoneName: emulator.zoneName,
    },
    kubernetes: { url: kube.url, token: kube.token, namespace: kube.namespace },
    oidc: {
      issuer: idp.issuer,
      signIn: `${url}/auth/login`,
      accounts: idp.accounts.map(({ username, password, groups }) => ({ username, password, groups })),
    },
    dataDir,
  };
  if (values.json) {
    process.stdout.write(JSON.stringify(info) + '\n');
  } else {
    const hostPort = url.replace(/^https?:\/\//, '');
    process.stdout.write(
      [
        `Tunnelplane ${VERSION} (dev) is serving on ${url}`,
        `  data: ${dataDir} (SQLite); Cloudflare: in-process emulator at ${emulator.url} (zone ${emulator.zoneName})`,
        `  Kubernetes: in-process emulator at ${kube.url} (namespace ${kube.namespace}; kubeconfig ${kubeconfig})`,
        `  users: ${DEMO_USERS.map((u) => `${u.name}/${u.password}`).join(', ')}`,
        `  single sign-on: local OpenID provider at ${idp.issuer}; sign in at ${url}/auth/login or with tunnelctl login --sso`,
        `    accounts: ${idp.accounts.map((a) => `${a.username}/${a.password} (${a.groups.join(', ')})`).join('; ')}`,
        `  API docs: ${url}/docs`,
        '',
        'Try it from another terminal:',
        `  export CONTROL_PLANE=${hostPort} USERPASS=user1:user1password`,
        '  npx tunnelctl create',
        '  npx tunnelctl list',
        '  npx tunnelctl credentials TUNNEL > credentials.json',
        '  npx tunnelctl create TUNNEL http://localhost:8000',
        '  npx tunnelctl config TUNNEL > config.yaml',
        '  cloudflared tunnel --config config.yaml run --cred-file credentials.json',
        '',
        'Press Ctrl-C to stop.',
        '',
      ].join('\n'),
    );
  }
  onSignals(async () => {
    await runtime.close();
    await emulator.close();
    await kube.close();
    await idp.close();
  });
}
