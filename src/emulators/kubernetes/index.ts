/**
 * Kubernetes API emulator, in process: `startKubernetesEmulator()` listens on a port (0 = any)
 * and returns the URL, the admin token, a kubeconfig generator and the control handle.
 * Composition root of this folder; see README.md for what is emulated and its invariants.
 */
import type { AddressInfo } from 'node:net';
import { stringify as toYaml } from 'yaml';
import { createKubernetesApi } from './api.js';
import type { KubernetesEmulatorControl } from './control.js';
import { createControl } from './control.js';
import { createTokenRegistry, newToken } from './rbac.js';
import { createKubernetesHttpServer } from './server.js';
import { createObjectStore } from './store.js';
import { createSelfSignedCertificate } from './tls-cert.js';
import { createTraffic } from './traffic.js';
import { isDNS1123Label } from './validation.js';

export type {
  AddTokenInput,
  KubeObject,
  KubeObjectMeta,
  KubernetesEmulatorControl,
  ObjectFilter,
  PodFailureOptions,
  PutObjectControlOptions,
} from './control.js';
export type { PolicyRule, RoleInput } from './rbac.js';
export type { FaultInput, PathPattern, RecordedRequest, RequestFilter } from './traffic.js';

export interface KubernetesEmulatorOptions {
  /** Port to listen on; 0 (the default here) picks a free one. The CLI defaults to 8788. */
  port?: number;
  /** Interface to bind (default `127.0.0.1`). */
  host?: string;
  /** Admin bearer token (default: random). */
  token?: string;
  /** Namespaces that exist (default `['tunnel-control-plane', 'default']`); the first is the "main" one. */
  namespaces?: string[];
  /** Delay before a written Deployment reports ready (default 200 ms). */
  readyDelayMs?: number;
  /**
   * Serve HTTPS: `true` mints a self-signed certificate, or pass PEM `cert`/`key`. Needed for
   * kubectl, which never sends a bearer token to an `http://` server. Default: plain HTTP.
   */
  tls?: boolean | { cert: string; key: string };
}

export interface StartedKubernetesEmulator {
  url: string;
  token: string;
  /** The first configured namespace. */
  namespace: string;
  control: KubernetesEmulatorControl;
  /** A kubeconfig (YAML) for this server; `token`/`namespace` override the admin token / first namespace. */
  kubeconfig(opts?: { token?: string; namespace?: string }): string;
  close(): Promise<void>;
}

export const DEFAULT_NAMESPACES = ['tunnel-control-plane', 'default'];
export const DEFAULT_READY_DELAY_MS = 200;

/** Checks options before anything starts, listing every problem at once. */
export function checkOptions(opts: KubernetesEmulatorOptions): string[] {
  const problems: string[] = [];
  if (opts.port !== undefined && (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535))
    problems.push(`port: must be an integer between 0 and 65535, got ${opts.port}`);
  if (opts.readyDelayMs !== undefined && (!Number.isFinite(opts.readyDelayMs) || opts.readyDelayMs < 0))
    problems.push('readyDelayMs: must be a non-negative number');
  if (opts.token !== undefined && !/^\S+$/.test(opts.token))
    problems.push('token: must be non-empty without whitespace');
  if (opts.namespaces !== undefined && opts.namespaces.length === 0)
    problems.push('namespaces: at least one namespace is needed');
  for (const ns of opts.namespaces ?? []) {
    const errs = isDNS1123Label(ns);
    if (errs.length > 0) problems.push(`namespaces: ${JSON.stringify(ns)}: ${errs.join('; ')}`);
  }
  return problems;
}

export function kubeconfigYaml(server: string, token: string, namespace: string): string {
  return toYaml({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'emulator', cluster: { server, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'emulator', user: { token } }],
    contexts: [{ name: 'emulator', context: { cluster: 'emulator', user: 'emulator', namespace } }],
    'current-context': 'emulator',
    preferences: {},
  });
}

export async function startKubernetesEmulator(
  opts: KubernetesEmulatorOptions = {},
): Promise<StartedKubernetesEmulator> {
  const problems = checkOptions(opts);
  if (problems.length > 0)
    throw new Error(`invalid Kubernetes emulator options:\n- ${problems.join('\n- ')}`);
  const host = opts.host ?? '127.0.0.1';
  const namespaces = [...new Set(opts.namespaces ?? DEFAULT_NAMESPACES)];
  const adminToken = opts.token ?? newToken('admin');

  const store = createObjectStore();
  const tokens = createTokenRegistry(adminToken);
  const traffic = createTraffic();
  let address = `${host}:0`;
  const api = createKubernetesApi({
    store,
    tokens,
    readyDelayMs: opts.readyDelayMs ?? DEFAULT_READY_DELAY_MS,
    serverAddress: () => address,
  });
  for (const ns of namespaces) api.addNamespace(ns);
  const control = createControl({ api, store, tokens, traffic, namespaces });
  const tls = opts.tls === true ? createSelfSignedCertificate(host) : opts.tls || undefined;
  const { server, closeStreams } = createKubernetesHttpServer({
    api,
    control,
    store,
    traffic,
    ...(tls ? { tls } : {}),
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  address = `${host}:${port}`;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const url = `${tls ? 'https' : 'http'}://${urlHost}:${port}`;
  const first = namespaces[0] ?? 'default';

  let closed: Promise<void> | undefined;
  return {
    url,
    token: adminToken,
    namespace: first,
    control,
    kubeconfig: (o = {}) => kubeconfigYaml(url, o.token ?? adminToken, o.namespace ?? first),
    close() {
      closed ??= new Promise<void>((resolve, reject) => {
        api.close();
        closeStreams();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
