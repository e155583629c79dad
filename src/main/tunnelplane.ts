/**
 * `tunnelplane serve|dev|migrate|user|emulate`: the server's command line. Parses arguments,
 * builds the config, and hands over to the runtime; every failure is one clear line and a
 * non-zero exit, never a stack trace.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/index.js';
import { hashPassword } from '../domain/passwords.js';
import { randomLabel } from '../domain/names.js';
import { connectStore } from '../store/index.js';
import type { Runtime } from './runtime.js';
import { VERSION } from './version.js';

// The server, the SDKs and the reconciler are loaded only by the commands that use them, so
// `user`, `migrate` and `--version` start quickly.
const loadRuntime = () => import('./runtime.js');

const USAGE = `tunnelplane ${VERSION}: self-hosted control plane for Cloudflare Tunnels

Usage:
  tunnelplane dev [--port N] [--data-dir DIR] [--json]
      The server with an in-process Cloudflare emulator and demo users
      (user1/user1password, user2/user2password, admin/adminpassword).
  tunnelplane serve [--config FILE] [--secret-dir DIR] [--host H] [--port N] [--database URL]
                    [--adopt-installation]
      The server. Configuration: YAML file, the proof of concept's secret/ folder,
      TUNNELPLANE_* variables, then flags (see docs/operator-guide.md).
  tunnelplane migrate [--config FILE] [--database URL]
  tunnelplane gc [--config FILE] [--secret-dir DIR] [--confirm DIGEST] [--include-unvouched] [--json]
      Shows what orphan collection would delete (objects provably this installation's that no
      row wants), what it leaves alone, and the plan's digest; --confirm DIGEST deletes the
      former if the plan is still the one reviewed (and, with
      --include-unvouched, objects carrying this installation's marker that its database does
      not know, e.g. after restoring an older backup).
  tunnelplane user add NAME [--admin] [--password-stdin]
  tunnelplane user passwd NAME [--password-stdin]
  tunnelplane user remove NAME
  tunnelplane user list
  tunnelplane emulate cloudflare [--port N] [--token T] [--zone NAME] [--plan free|pro] [--state FILE] [--json]
  tunnelplane emulate kubernetes [--port N] [--json]
`;

class UsageError extends Error {}

const DEMO_USERS = [
  { name: 'user1', password: 'user1password', role: 'user' as const },
  { name: 'user2', password: 'user2password', role: 'user' as const },
  { name: 'admin', password: 'adminpassword', role: 'admin' as const },
];

function serverFlags(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c' },
      'secret-dir': { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string', short: 'p' },
      database: { type: 'string' },
      'adopt-installation': { type: 'boolean' },
    },
    strict: true,
  }).values;
}

function onSignals(close: () => Promise<void>) {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\n${signal}: shutting down\n`);
    close()
      .then(() => process.exit(0))
      .catch(() => process.exit(1));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

function serveConfig(f: ReturnType<typeof serverFlags>) {
  const secretDir = f['secret-dir'] ?? (f.config ? undefined : defaultSecretDir());
  return loadConfig({
    ...(f.config ? { file: f.config } : {}),
    ...(secretDir ? { secretDir } : {}),
    env: process.env,
    flags: {
      'listen.host': f.host,
      'listen.port': f.port,
      'database.url': f.database,
      adoptInstallation: f['adopt-installation'],
    },
  });
}

/** 12 hex digits naming exactly the objects a plan would delete. */
function planDigest(orphans: ReadonlyArray<{ kind: string; id: string }>): string {
  const keys = orphans.map((o) => `${o.kind}:${o.id}`).sort();
  return createHash('sha256').update(keys.join('\n')).digest('hex').slice(0, 12);
}

/** 0, or 1 when nothing was deleted because the plan changed, or some deletions failed. */
async function gc(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c' },
      'secret-dir': { type: 'string' },
      database: { type: 'string' },
      confirm: { type: 'string' },
      'include-unvouched': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const config = serveConfig({
    config: values.config,
    'secret-dir': values['secret-dir'],
    database: values.database,
  });
  const { createCore, createCoreReconciler, createLogger } = await loadRuntime();
  const { describeOrphans } = await import('../reconciler/index.js');
  if (values.confirm !== undefined && !/^[0-9a-f]{12}$/.test(values.confirm))
    throw new UsageError('--confirm takes the plan digest `tunnelplane gc` printed (12 hex digits)');
  const core = await createCore(config, {
    logger: createLogger(config.log.level === 'info' ? 'warn' : config.log.level),
    syncUsers: false,
  });
  try {
    const reconciler = createCoreReconciler(core, { replicaId: `gc-${process.pid}` });
    const plan = await reconciler.planOrphans();
    const chosen = [...plan.collectable, ...(values['include-unvouched'] ? plan.unvouched : [])];
    // What a person reviewed is what goes: the plan is named by a digest of exactly what it deletes.
    const digest = planDigest(chosen);
    let result = null;
    if (values.confirm !== undefined && values.confirm !== digest) {
      process.stderr.write(
        `tunnelplane: the plan changed since it was reviewed (now ${digest}, not ${values.confirm}): nothing deleted; review it again with tunnelplane gc\n`,
      );
      return 1;
    }
    if (values.confirm && chosen.length > 0) result = await reconciler.applyOrphans(chosen);
    if (values.json) {
      process.stdout.write(
        JSON.stringify({
          installation: core.ownership.id,
          ours: plan.ours,
          collectable: plan.collectable,
          unvouched: plan.unvouched,
          digest,
          applied: result,
        }) + '\n',
      );
      return result?.failed ? 1 : 0;
    }
    const out = process.stdout;
    out.write(`installation ${core.ownership.id}: ${plan.ours} objects carry its marker\n`);
    out.write(`${plan.collectable.length} provably ours and wanted by no row (a tombstone names them):\n`);
    for (const line of describeOrphans(plan.collectable, Infinity)) out.write(`  ${line}\n`);
    out.write(
      `${plan.unvouched.length} carrying its marker that its database does not know (left alone${values['include-unvouched'] ? '' : '; --include-unvouched takes them too'}):\n`,
    );
    for (const line of describeOrphans(plan.unvouched, Infinity)) out.write(`  ${line}\n`);
    if (!values.confirm) {
      out.write(
        chosen.length > 0
          ? `nothing deleted: run again with --confirm ${digest} to delete ${chosen.length}\n`
          : 'nothing to delete\n',
      );
    } else if (result) {
      const deleted =
        result.orphanRecords + result.orphanTunnels + result.orphanAccess + result.orphanKubernetes;
      out.write(
        `deleted ${deleted}${result.failed ? `; ${result.failed} failed (see the log; run again)` : ''}\n`,
      );
      if (result.failed) return 1;
    } else {
      out.write('nothing to delete\n');
    }
    return 0;
  } finally {
    await core.closeStore();
  }
}

async function serve(argv: string[]) {
  const config = serveConfig(serverFlags(argv));
  const { createRuntime } = await loadRuntime();
  const runtime = await createRuntime(config);
  const url = await runtime.listen();
  runtime.logger.info(
    { url, zone: runtime.zoneName, installation: runtime.installationId },
    'tunnelplane is serving',
  );
  onSignals(() => runtime.close());
}

/** The proof of concept read ./secret; so do we when it is there and nothing else is said. */
function defaultSecretDir(): string | undefined {
  try {
    readFileSync(resolve('secret', 'cloudflare.yaml'));
    return 'secret';
  } catch {
    return undefined;
  }
}

async function dev(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', short: 'p', default: '5000' },
      host: { type: 'string', default: '127.0.0.1' },
      'data-dir': { type: 'string' },
      json: { type: 'boolean', default: false },
      'log-level': { type: 'string', default: 'warn' },
    },
    strict: true,
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port must be 0-65535, got ${values.port}`);
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
  const { createLogger, createRuntime } = await loadRuntime();
  const logger = createLogger(values['log-level']!);
  let runtime: Runtime;
  try {
    const config = loadConfig({
      env: {},
      defaults: {
        listen: { host: values.host, port },
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
  });
}

function databaseUrl(argv: string[]) {
  const f = serverFlags(argv);
  const config = loadConfigLoose(f.config, f.database);
  return config;
}

/** Only the database matters for migrate and user commands. */
function loadConfigLoose(file: string | undefined, database: string | undefined): string {
  try {
    return loadConfig({ ...(file ? { file } : {}), env: process.env, flags: { 'database.url': database } })
      .database.url;
  } catch (err) {
    if (err instanceof ConfigError && err.problems.every((p) => p.startsWith('cloudflare.'))) {
      return database ?? process.env.TUNNELPLANE_DATABASE_URL ?? 'sqlite:./data/tunnelplane.db';
    }
    throw err;
  }
}

async function readPassword(fromStdin: boolean): Promise<{ password: string; generated: boolean }> {
  if (fromStdin) {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    const password = Buffer.concat(chunks)
      .toString('utf8')
      .replace(/\r?\n$/, '');
    if (password.length < 8) throw new UsageError('the password must be at least 8 characters');
    return { password, generated: false };
  }
  return { password: randomLabel(20), generated: true };
}

async function user(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      admin: { type: 'boolean', default: false },
      'password-stdin': { type: 'boolean', default: false },
      config: { type: 'string', short: 'c' },
      database: { type: 'string' },
    },
    strict: true,
  });
  const [verb, name, extra] = positionals;
  if (extra !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(extra)}`);
  const url = loadConfigLoose(values.config, values.database);
  const { store, close } = await connectStore(url);
  try {
    if (verb === 'list') {
      for (const u of await store.users.list())
        process.stdout.write(`${u.name}\t${u.role}\t${u.created_at}\n`);
      return;
    }
    if (!name) throw new UsageError(`Missing parameter: NAME (tunnelplane user ${verb ?? 'add'} NAME)`);
    const existing = await store.users.byName(name);
    switch (verb) {
      case 'add': {
        if (!/^[A-Za-z0-9._@-]{1,64}$/.test(name))
          throw new UsageError(
            `user name ${JSON.stringify(name)} is invalid: use 1-64 of A-Z a-z 0-9 . _ @ -`,
          );
        const { password, generated } = await readPassword(values['password-stdin']!);
        const created = await store.users.create({
          name,
          passwordHash: await hashPassword(password),
          role: values.admin ? 'admin' : 'user',
        });
        await store.events.append({
          ownerId: created.id,
          actor: 'cli',
          action: 'user.add',
          target: name,
          outcome: 'ok',
          details: { role: created.role },
        });
        process.stdout.write(generated ? `created ${name}; password: ${password}\n` : `created ${name}\n`);
        return;
      }
      case 'passwd': {
        if (!existing) throw new UsageError(`no user named ${name}`);
        const { password, generated } = await readPassword(values['password-stdin']!);
        await store.users.update(existing.id, { password_hash: await hashPassword(password) });
        await store.events.append({
          ownerId: existing.id,
          actor: 'cli',
          action: 'user.passwd',
          target: name,
          outcome: 'ok',
        });
        process.stdout.write(
          generated ? `password of ${name}: ${password}\n` : `password of ${name} changed\n`,
        );
        return;
      }
      case 'remove': {
        if (!existing) throw new UsageError(`no user named ${name}`);
        await store.users.remove(existing.id);
        await store.events.append({
          ownerId: null,
          actor: 'cli',
          action: 'user.remove',
          target: name,
          outcome: 'ok',
        });
        process.stdout.write(`removed ${name}\n`);
        return;
      }
      default:
        throw new UsageError(
          `unknown user command ${JSON.stringify(verb ?? '')}: use add, passwd, remove or list`,
        );
    }
  } finally {
    await close();
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      await serve(rest);
      return 0;
    case 'dev':
      await dev(rest);
      return 0;
    case 'migrate': {
      const url = databaseUrl(rest);
      const { migrate, close } = await connectStore(url, { migrate: false });
      const applied = await migrate();
      await close();
      process.stdout.write(
        applied.length ? `applied: ${applied.join(', ')}\n` : 'the database is up to date\n',
      );
      return 0;
    }
    case 'user':
      await user(rest);
      return 0;
    case 'gc':
      return gc(rest);
    case 'emulate': {
      const [which, ...args] = rest;
      if (which === 'cloudflare') {
        const { runCloudflareEmulatorCommand } = await import('../emulators/cloudflare/cli.js');
        await runCloudflareEmulatorCommand(args);
        return 0;
      }
      if (which === 'kubernetes') {
        const { runKubernetesEmulatorCommand } = await import('../emulators/kubernetes/cli.js');
        await runKubernetesEmulatorCommand(args);
        return 0;
      }
      throw new UsageError('emulate what? cloudflare or kubernetes');
    }
    case 'version':
    case '--version':
      process.stdout.write(`tunnelplane ${VERSION}\n`);
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return 0;
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`tunnelplane: ${(err as Error).message}\n\n${USAGE}`);
    process.exitCode = 2;
  } else if (err instanceof ConfigError) {
    process.stderr.write(`tunnelplane: ${err.message}\n`);
    process.exitCode = 1;
  } else {
    process.stderr.write(`tunnelplane: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
