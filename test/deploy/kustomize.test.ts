/**
 * deploy/'s kustomize layout: every overlay, alone and with each optional component, renders
 * (`kubectl kustomize`), passes a server-side dry run and applies for real against the
 * Kubernetes emulator (kubectl over HTTPS), twice without a change. The overlays say what they
 * promise: `single` one replica, Recreate, SQLite on the claim; `ha` two or more replicas on the
 * StatefulSet's PostgreSQL through its Service, the call budget shared. Every TUNNELPLANE_*
 * name they set is one the server reads. Skipped when no kubectl binary is on PATH.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ENV } from '../../src/config/env-vars.js';
import {
  startKubernetesEmulator,
  type StartedKubernetesEmulator,
} from '../../src/emulators/kubernetes/index.js';

function hasKubectl(): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const NS = 'tunnelplane';
const DEPLOY = join(process.cwd(), 'deploy');
let emu: StartedKubernetesEmulator;
let dir: string;

function kubectl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'kubectl',
      [
        '--kubeconfig',
        join(dir, 'kubeconfig'),
        '--cache-dir',
        join(dir, 'cache'),
        '--request-timeout',
        '20s',
        ...args,
      ],
      { timeout: 60_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

/** A kustomization of the overlay with the components: what an operator's own overlay is. */
function variant(overlay: string, components: string[]): string {
  const at = join(dir, [overlay, ...components].join('+'));
  mkdirSync(at, { recursive: true });
  const rel = (p: string) => relative(at, join(DEPLOY, p));
  writeFileSync(
    join(at, 'kustomization.yaml'),
    [
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      `namespace: ${NS}`,
      `resources: [${rel(`overlays/${overlay}`)}]`,
      `components: [${components.map((c) => rel(`components/${c}`)).join(', ')}]`,
      '',
    ].join('\n'),
  );
  return at;
}

type Obj = { kind: string; metadata: { name: string; namespace?: string }; [k: string]: any };
const render = async (path: string): Promise<Obj[]> => {
  const out = await kubectl(['kustomize', path]);
  expect(out.stderr).toBe('');
  expect(out.code).toBe(0);
  return parseAllDocuments(out.stdout).map((d) => d.toJS() as Obj);
};
const one = (objs: Obj[], kind: string, name: string): Obj => {
  const found = objs.find((o) => o.kind === kind && o.metadata.name.startsWith(name));
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found;
};
const server = (objs: Obj[]) => one(objs, 'Deployment', 'tunnelplane');
const container = (objs: Obj[]) => server(objs).spec.template.spec.containers[0];
const envOf = (objs: Obj[]) =>
  Object.fromEntries(
    (container(objs).env as { name: string; value?: string }[]).map((e) => [e.name, e.value]),
  );
const configOf = (objs: Obj[]) => one(objs, 'ConfigMap', 'tunnelplane-config').data as Record<string, string>;

describe.skipIf(!hasKubectl())('deploy/ with kustomize, against the Kubernetes emulator', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tp-kustomize-'));
    emu = await startKubernetesEmulator({ tls: true, namespaces: [NS] });
    writeFileSync(join(dir, 'kubeconfig'), emu.kubeconfig({}));
  });
  afterAll(async () => {
    await emu?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const variants: [string, string[]][] = [
    ['single', []],
    ['single', ['ingress', 'cloudflare-tunnel']],
    ['ha', []],
    ['ha', ['ingress']],
    ['ha', ['cloudflare-tunnel']],
  ];

  it.each(variants)(
    '%s with %j renders, dry-runs on the server, applies, and re-applies unchanged',
    async (overlay, components) => {
      emu.control.reset();
      const path = variant(overlay, components);
      const objs = await render(path);
      expect(objs.every((o) => o.metadata.namespace === NS)).toBe(true);
      const added = {
        ingress: ['Ingress', 'tunnelplane'],
        'cloudflare-tunnel': ['Deployment', 'tunnelplane-cloudflared'],
      };
      for (const c of components) {
        const [kind, name] = added[c as keyof typeof added];
        expect(objs.some((o) => o.kind === kind && o.metadata.name === name)).toBe(true);
      }
      const dry = await kubectl(['apply', '--dry-run=server', '-k', path]);
      expect(dry.stderr).toBe('');
      expect(dry.stdout.trim().split('\n')).toHaveLength(objs.length);
      expect(dry.stdout).toMatch(/created \(server dry run\)/);
      expect(emu.control.objects({ namespace: NS })).toEqual([]);

      const applied = await kubectl(['apply', '-k', path]);
      expect(applied.stderr).toBe('');
      expect(
        applied.stdout
          .trim()
          .split('\n')
          .every((l) => l.endsWith(' created')),
      ).toBe(true);
      expect(emu.control.objects({ namespace: NS })).toHaveLength(objs.length);
      // Deployments excepted: the emulator's rollout writes their status as the controller would.
      const versions = () =>
        emu.control
          .objects({ namespace: NS })
          .filter((o) => o.kind !== 'Deployment')
          .map((o) => `${o.kind}/${o.metadata.name}@${o.metadata.resourceVersion}`);
      const before = versions();
      const again = await kubectl(['apply', '-k', path]);
      // kubectl always sends a budget's selector (patchStrategy "replace" in policy/v1) and a
      // StatefulSet's claim templates (an atomic list the server defaults into): the server
      // finds nothing to change and writes nothing.
      const changed = again.stdout
        .trim()
        .split('\n')
        .filter((l) => !l.endsWith(' unchanged'));
      expect(changed).toEqual([
        ...(overlay === 'ha' ? ['statefulset.apps/tunnelplane-postgres configured'] : []),
        'poddisruptionbudget.policy/tunnelplane configured',
      ]);
      expect(versions()).toEqual(before);
    },
    60_000,
  );

  it('single: one replica, Recreate, SQLite on the claim', async () => {
    const objs = await render(join(DEPLOY, 'overlays', 'single'));
    const spec = server(objs).spec;
    expect(spec.replicas).toBe(1);
    expect(spec.strategy).toEqual({ type: 'Recreate' });
    const claim = one(objs, 'PersistentVolumeClaim', 'tunnelplane-data');
    const volume = spec.template.spec.volumes.find(
      (v: any) => v.persistentVolumeClaim?.claimName === claim.metadata.name,
    );
    const mount = container(objs).volumeMounts.find((m: any) => m.name === volume.name);
    expect(configOf(objs)['TUNNELPLANE_DATABASE_URL']).toBe(`sqlite:${mount.mountPath}/tunnelplane.db`);
  });

  it("ha: two or more replicas on the StatefulSet's PostgreSQL through its Service, the budget shared", async () => {
    const objs = await render(join(DEPLOY, 'overlays', 'ha'));
    expect(server(objs).spec.replicas).toBeGreaterThanOrEqual(2);
    const sts = one(objs, 'StatefulSet', 'tunnelplane-postgres');
    const svc = one(objs, 'Service', sts.spec.serviceName);
    expect(
      Object.entries(svc.spec.selector).every(([k, v]) => sts.spec.template.metadata.labels[k] === v),
    ).toBe(true);
    const port = svc.spec.ports.find((p: any) => p.name === 'postgres').port;
    const url = new URL(envOf(objs)['TUNNELPLANE_DATABASE_URL'] ?? '');
    expect([url.protocol, url.hostname, url.port, url.pathname]).toEqual([
      'postgres:',
      svc.metadata.name,
      String(port),
      `/${sts.spec.template.spec.containers[0].env.find((e: any) => e.name === 'POSTGRES_DB').value}`,
    ]);
    // The password is the StatefulSet's own Secret, expanded by the kubelet from a variable before it.
    const env = container(objs).env as { name: string; valueFrom?: any }[];
    const password = env.findIndex((e) => e.name === 'POSTGRES_PASSWORD');
    expect(url.password).toBe('$(POSTGRES_PASSWORD)');
    expect(password).toBeLessThan(env.findIndex((e) => e.name === 'TUNNELPLANE_DATABASE_URL'));
    expect(env[password]?.valueFrom.secretKeyRef.name).toBe(
      sts.spec.template.spec.containers[0].env.find((e: any) => e.name === 'POSTGRES_PASSWORD').valueFrom
        .secretKeyRef.name,
    );
    expect(configOf(objs)['TUNNELPLANE_CLOUDFLARE_RATE_LIMIT_SHARED']).toBe('true');
  });

  it.each(['single', 'ha'])('%s sets only settings the server reads', async (overlay) => {
    const objs = await render(join(DEPLOY, 'overlays', overlay));
    const names = [...Object.keys(configOf(objs)), ...Object.keys(envOf(objs))].filter((n) =>
      n.startsWith('TUNNELPLANE_'),
    );
    expect(names.filter((n) => !(n in ENV))).toEqual([]);
  });
});
