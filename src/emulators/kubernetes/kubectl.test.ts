/**
 * Real kubectl against the emulator (HTTPS with a throw-away certificate: kubectl only sends
 * bearer tokens to https:// servers). Skipped when no kubectl binary is on PATH.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { KubeObject, StartedKubernetesEmulator } from './index.js';
import { startKubernetesEmulator } from './index.js';

function hasKubectl(): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const NS = 'tunnel-control-plane';
let emu: StartedKubernetesEmulator;
let dir: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function kubectl(args: string[], opts: { token?: string; cache?: string } = {}): Promise<Run> {
  const kubeconfig = join(dir, opts.token ? `kubeconfig-${opts.token.slice(0, 12)}` : 'kubeconfig');
  writeFileSync(kubeconfig, emu.kubeconfig(opts.token ? { token: opts.token } : {}));
  return new Promise((resolve) => {
    execFile(
      'kubectl',
      [
        '--kubeconfig',
        kubeconfig,
        '--cache-dir',
        join(dir, opts.cache ?? 'cache'),
        '--request-timeout',
        '10s',
        ...args,
      ],
      { timeout: 20_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function manifest(name: string, image: string, replicas = 1): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: ${NS}
  labels: {app.kubernetes.io/instance: ${name}, app.kubernetes.io/managed-by: tunnel-control-plane}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app.kubernetes.io/instance: ${name}}}
  template:
    metadata: {labels: {app.kubernetes.io/instance: ${name}}}
    spec:
      containers:
      - name: cloudflared
        image: ${image}
        args: [access, tcp, --hostname, h.example.com, --url, "0.0.0.0:10000"]
        ports: [{name: tcp, containerPort: 10000}]
---
apiVersion: v1
kind: Service
metadata:
  name: ${name}
  namespace: ${NS}
  labels: {app.kubernetes.io/instance: ${name}, app.kubernetes.io/managed-by: tunnel-control-plane}
spec:
  selector: {app.kubernetes.io/instance: ${name}}
  ports: [{name: tcp, port: 10000, targetPort: tcp}]
`;
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const deploymentOf = (name: string): KubeObject | undefined =>
  emu.control.objects({ kind: 'Deployment', namespace: NS, name })[0];

describe.skipIf(!hasKubectl())('kubectl against the emulator', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'k8s-emu-kubectl-'));
    emu = await startKubernetesEmulator({ tls: true, readyDelayMs: 30 });
  });
  afterAll(async () => {
    await emu.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => emu.control.reset());

  it('gets what the test created, as JSON and by label', async () => {
    emu.control.putObject(parseAllDocuments(manifest('tca-a', 'cf:1'))[0]?.toJSON() as KubeObject);
    emu.control.putObject({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'tca-a', namespace: NS, labels: { route: 'r1' } },
      spec: { selector: { app: 'a' }, ports: [{ port: 10000 }] },
    });
    emu.control.putObject({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'tca-b', namespace: NS, labels: { route: 'r2' } },
      spec: { selector: { app: 'b' }, ports: [{ port: 10000 }] },
    });

    const get = await kubectl(['get', 'deploy', '-n', NS, '-o', 'json']);
    expect(get.stderr).toBe('');
    const list = JSON.parse(get.stdout) as { kind: string; items: KubeObject[] };
    expect(list.kind).toBe('List');
    expect(list.items.map((d) => [d.kind, d.metadata.name])).toEqual([['Deployment', 'tca-a']]);

    const byLabel = await kubectl(['get', 'svc', '-n', NS, '-l', 'route=r1', '-o', 'name']);
    expect(byLabel.stdout.trim()).toBe('service/tca-a');
    const table = await kubectl(['get', 'svc', '-n', NS, '-l', 'route in (r1,r2)']);
    expect(table.stdout).toMatch(/^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE\n/);
    expect(table.stdout).toMatch(/tca-b\s+ClusterIP\s+10\.96\.\d+\.\d+\s+<none>\s+10000\/TCP/);
  });

  it('applies server-side, detects conflicts, and forces them', async () => {
    const path = file('ssa.yaml', manifest('tca-ssa', 'cf:1'));
    const first = await kubectl(['apply', '--server-side', '-f', path]);
    expect(first.stdout).toBe(
      'deployment.apps/tca-ssa serverside-applied\nservice/tca-ssa serverside-applied\n',
    );
    // kubectl owns what it applied; the simulated controller (kube-controller-manager) may add
    // its own entries for the revision and the status by now, as on a real cluster.
    const managers = (
      deploymentOf('tca-ssa')?.metadata['managedFields'] as Array<{ manager: string }>
    ).filter((m) => m.manager !== 'kube-controller-manager');
    expect(managers).toEqual([expect.objectContaining({ manager: 'kubectl', operation: 'Apply' })]);

    const other = file('ssa-other.yaml', manifest('tca-ssa', 'cf:2'));
    const conflict = await kubectl(['apply', '--server-side', '--field-manager', 'tunnelplane', '-f', other]);
    expect(conflict.code).not.toBe(0);
    expect(conflict.stderr).toContain(
      'Apply failed with 1 conflict: conflict with "kubectl": .spec.template.spec.containers[name="cloudflared"].image',
    );
    const forced = await kubectl([
      'apply',
      '--server-side',
      '--field-manager',
      'tunnelplane',
      '--force-conflicts',
      '-f',
      other,
    ]);
    expect(forced.code).toBe(0);
    const spec = deploymentOf('tca-ssa')?.['spec'] as {
      template: { spec: { containers: { image: string }[] } };
    };
    expect(spec.template.spec.containers[0]?.image).toBe('cf:2');
  });

  it('applies client-side (create, then a strategic merge patch with last-applied)', async () => {
    const path = file('csa.yaml', manifest('tca-csa', 'cf:1'));
    const created = await kubectl(['apply', '-f', path]);
    expect(created.stdout).toBe('deployment.apps/tca-csa created\nservice/tca-csa created\n');
    const again = await kubectl(['apply', '-f', path]);
    expect(again.stdout).toBe('deployment.apps/tca-csa unchanged\nservice/tca-csa unchanged\n');

    file('csa.yaml', manifest('tca-csa', 'cf:2', 3));
    const updated = await kubectl(['apply', '-f', path]);
    expect(updated.stdout).toBe('deployment.apps/tca-csa configured\nservice/tca-csa unchanged\n');
    const patch = emu.control.requests({
      method: 'PATCH',
      path: '/apis/apps/v1/namespaces/*/deployments/tca-csa',
    })[0];
    expect(patch?.contentType).toBe('application/strategic-merge-patch+json');
    expect(patch?.query['fieldManager']).toBe('kubectl-client-side-apply');

    const dep = deploymentOf('tca-csa');
    expect(dep?.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration']).toContain(
      '"image":"cf:2"',
    );
    expect(dep?.metadata.generation).toBe(2);
    expect(dep?.['spec']).toMatchObject({
      replicas: 3,
      template: { spec: { containers: [{ name: 'cloudflared', image: 'cf:2' }] } },
    });

    const rollout = await kubectl(['rollout', 'status', 'deployment/tca-csa', '-n', NS, '--timeout', '10s']);
    expect(rollout.stdout).toContain('deployment "tca-csa" successfully rolled out');
  });

  it('deletes by file and by name, and reports missing objects', async () => {
    const path = file('del.yaml', manifest('tca-del', 'cf:1'));
    await kubectl(['apply', '--server-side', '-f', path]);
    const byFile = await kubectl(['delete', '-f', path]);
    expect(byFile.stdout).toBe('deployment.apps "tca-del" deleted\nservice "tca-del" deleted\n');
    expect(emu.control.objects({ namespace: NS, name: 'tca-del' })).toEqual([]);

    const missing = await kubectl(['delete', 'deployment', 'tca-del', '-n', NS]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('Error from server (NotFound): deployments.apps "tca-del" not found');
  });

  it('enforces a least-privilege token', async () => {
    const token = emu.control.addToken({
      namespace: NS,
      rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list'] }],
    });
    const listed = await kubectl(['get', 'deploy', '-n', NS], { token, cache: 'cache-limited' });
    expect(listed.stderr).toContain(`No resources found in ${NS} namespace.`);
    const denied = await kubectl(['delete', 'svc', 'x', '-n', NS], { token, cache: 'cache-limited' });
    expect(denied.stderr).toContain(
      `Error from server (Forbidden): services "x" is forbidden: User "system:serviceaccount:${NS}:tunnel-control-plane" cannot delete resource "services" in API group "" in the namespace "${NS}"`,
    );
  });
});
