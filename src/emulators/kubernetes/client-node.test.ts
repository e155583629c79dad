/**
 * The emulator driven by the official client (@kubernetes/client-node 1.4, object-parameter
 * style), the way src/providers/kubernetes will use it.
 */
import type { V1Deployment, V1Service } from '@kubernetes/client-node';
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { StartedKubernetesEmulator } from './index.js';
import { startKubernetesEmulator } from './index.js';

let emu: StartedKubernetesEmulator;
let apps: AppsV1Api;
let core: CoreV1Api;
let objects: KubernetesObjectApi;
let ns: string;

function clients(token?: string) {
  const kc = new KubeConfig();
  kc.loadFromString(emu.kubeconfig(token ? { token } : {}));
  return {
    apps: kc.makeApiClient(AppsV1Api),
    core: kc.makeApiClient(CoreV1Api),
    objects: KubernetesObjectApi.makeApiClient(kc),
  };
}

beforeAll(async () => {
  emu = await startKubernetesEmulator({ readyDelayMs: 40 });
  ({ apps, core, objects } = clients());
  ns = emu.namespace;
});
afterAll(() => emu.close());
beforeEach(() => emu.control.reset());

/** The ApiException code and parsed Status body of a failed call. */
async function failure(
  call: Promise<unknown>,
): Promise<{ code: number; body: Record<string, unknown> | undefined }> {
  try {
    await call;
  } catch (e) {
    if (!(e instanceof ApiException)) throw e;
    const raw = (e as ApiException<unknown>).body;
    return {
      code: e.code,
      body: typeof raw === 'string' && raw ? (JSON.parse(raw) as Record<string, unknown>) : undefined,
    };
  }
  throw new Error('expected the call to fail');
}

function deployment(
  name: string,
  labels: Record<string, string> = {},
  image = 'cloudflare/cloudflared:2025.7.0',
): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, labels: { 'app.kubernetes.io/instance': name, ...labels } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { 'app.kubernetes.io/instance': name } },
      template: {
        metadata: { labels: { 'app.kubernetes.io/instance': name } },
        spec: {
          containers: [
            {
              name: 'cloudflared',
              image,
              args: ['access', 'tcp', '--hostname', 'h.example.com', '--url', '0.0.0.0:10000'],
              ports: [{ name: 'tcp', containerPort: 10000 }],
              env: [{ name: 'TUNNEL_SERVICE_URL', value: '0.0.0.0:10000' }],
            },
          ],
        },
      },
    },
  };
}

function service(name: string, labels: Record<string, string> = {}): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns, labels },
    spec: {
      selector: { 'app.kubernetes.io/instance': name },
      ports: [{ name: 'tcp', port: 10000, targetPort: 'tcp' }],
    },
  };
}

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('CRUD, metadata and errors', () => {
  it('creates with server metadata and defaults, and reads it back', async () => {
    const created = await apps.createNamespacedDeployment({ namespace: ns, body: deployment('tca-1') });
    const meta = created.metadata;
    expect(meta?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(meta?.resourceVersion).toMatch(/^\d+$/);
    expect(meta?.generation).toBe(1);
    expect(meta?.creationTimestamp).toBeInstanceOf(Date);
    expect(meta?.managedFields?.[0]).toMatchObject({
      manager: 'node-fetch',
      operation: 'Update',
      fieldsType: 'FieldsV1',
    });
    expect(created.spec).toMatchObject({
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
      strategy: { type: 'RollingUpdate' },
    });
    expect(created.spec?.template.spec?.containers[0]).toMatchObject({
      terminationMessagePath: '/dev/termination-log',
      imagePullPolicy: 'IfNotPresent',
      ports: [{ name: 'tcp', containerPort: 10000, protocol: 'TCP' }],
    });
    const read = await apps.readNamespacedDeployment({ name: 'tca-1', namespace: ns });
    expect(read.metadata?.uid).toBe(meta?.uid);
    expect(emu.control.objects({ kind: 'deployments', name: 'tca-1' })).toHaveLength(1);
  });

  it('answers 409 AlreadyExists, 404 NotFound and 404 for a missing namespace with real Status bodies', async () => {
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('tca-1') });
    expect(
      await failure(apps.createNamespacedDeployment({ namespace: ns, body: deployment('tca-1') })),
    ).toEqual({
      code: 409,
      body: {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'deployments.apps "tca-1" already exists',
        reason: 'AlreadyExists',
        details: { name: 'tca-1', group: 'apps', kind: 'deployments' },
        code: 409,
      },
    });
    expect((await failure(core.readNamespacedService({ name: 'nope', namespace: ns }))).body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'services "nope" not found',
      reason: 'NotFound',
      details: { name: 'nope', kind: 'services' },
      code: 404,
    });
    const missingNs = await failure(
      core.createNamespacedSecret({ namespace: 'ghost', body: { metadata: { name: 's' } } }),
    );
    expect(missingNs.code).toBe(404);
    expect(missingNs.body).toMatchObject({
      message: 'namespaces "ghost" not found',
      details: { name: 'ghost', kind: 'namespaces' },
    });
    expect((await failure(apps.deleteNamespacedDeployment({ name: 'nope', namespace: ns }))).code).toBe(404);
  });

  it('lists with label selectors (=, ==, !=, in, notin, exists, !exists) and field selectors', async () => {
    await core.createNamespacedService({ namespace: ns, body: service('a', { tier: 'front', env: 'prod' }) });
    await core.createNamespacedService({ namespace: ns, body: service('b', { tier: 'back', env: 'prod' }) });
    await core.createNamespacedService({ namespace: ns, body: service('c', { tier: 'back' }) });
    const names = async (labelSelector?: string, fieldSelector?: string) =>
      (
        await core.listNamespacedService({
          namespace: ns,
          ...(labelSelector ? { labelSelector } : {}),
          ...(fieldSelector ? { fieldSelector } : {}),
        })
      ).items.map((s) => s.metadata?.name);
    expect(await names()).toEqual(['a', 'b', 'c']);
    expect(await names('tier=back')).toEqual(['b', 'c']);
    expect(await names('tier==front')).toEqual(['a']);
    expect(await names('tier!=front')).toEqual(['b', 'c']);
    expect(await names('tier in (front,x)')).toEqual(['a']);
    expect(await names('tier notin (front)')).toEqual(['b', 'c']);
    expect(await names('env')).toEqual(['a', 'b']);
    expect(await names('!env')).toEqual(['c']);
    expect(await names('tier=back,env=prod')).toEqual(['b']);
    expect(await names(undefined, 'metadata.name=c')).toEqual(['c']);
    expect(await names(undefined, `metadata.namespace=${ns},metadata.name!=a`)).toEqual(['b', 'c']);
    const list = await core.listNamespacedService({ namespace: ns });
    expect(list.metadata?.resourceVersion).toMatch(/^\d+$/);
    expect(
      (await failure(core.listNamespacedService({ namespace: ns, labelSelector: 'tier in (' }))).code,
    ).toBe(400);
  });

  it('replaces with optimistic concurrency: a stale resourceVersion is a 409 Conflict', async () => {
    const made = await apps.createNamespacedDeployment({ namespace: ns, body: deployment('tca-1') });
    const stale = structuredClone(made);
    // The simulated controller writes the revision and status shortly after a change (as
    // kube-controller-manager does): replace the version it left, however busy the machine.
    let created = made;
    for (let i = 0; i < 200 && !created.status?.observedGeneration; i++) {
      await new Promise((r) => setTimeout(r, 20));
      created = await apps.readNamespacedDeployment({ name: 'tca-1', namespace: ns });
    }
    expect(created.status?.observedGeneration).toBe(1);
    const fresh = await apps.replaceNamespacedDeployment({
      name: 'tca-1',
      namespace: ns,
      body: { ...created, spec: { ...created.spec!, replicas: 3 } },
    });
    expect(fresh.metadata?.generation).toBe(2);
    expect(Number(fresh.metadata?.resourceVersion)).toBeGreaterThan(Number(made.metadata?.resourceVersion));
    const conflict = await failure(
      apps.replaceNamespacedDeployment({ name: 'tca-1', namespace: ns, body: stale }),
    );
    expect(conflict).toEqual({
      code: 409,
      body: expect.objectContaining({
        reason: 'Conflict',
        message:
          'Operation cannot be fulfilled on deployments.apps "tca-1": the object has been modified; please apply your changes to the latest version and try again',
        details: { name: 'tca-1', group: 'apps', kind: 'deployments' },
      }),
    });
    // A metadata-only change does not bump the generation (made on what the controller left).
    let latest = fresh;
    for (let i = 0; i < 200 && latest.status?.observedGeneration !== 2; i++) {
      await new Promise((r) => setTimeout(r, 20));
      latest = await apps.readNamespacedDeployment({ name: 'tca-1', namespace: ns });
    }
    const labelled = await apps.replaceNamespacedDeployment({
      name: 'tca-1',
      namespace: ns,
      body: {
        ...latest,
        metadata: { ...latest.metadata!, labels: { ...latest.metadata?.labels, extra: 'x' } },
      },
    });
    expect(labelled.metadata?.generation).toBe(2);
    expect(
      (
        await failure(
          apps.replaceNamespacedDeployment({ name: 'ghost', namespace: ns, body: deployment('ghost') }),
        )
      ).code,
    ).toBe(404);
  });

  it('deletes: Status for Deployments and Secrets, the object for Services, deletecollection by label', async () => {
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('d1', { route: 'r1' }) });
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('d2', { route: 'r1' }) });
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('d3', { route: 'r2' }) });
    const status = await apps.deleteNamespacedDeployment({
      name: 'd3',
      namespace: ns,
      propagationPolicy: 'Background',
    });
    expect(status).toMatchObject({
      kind: 'Status',
      status: 'Success',
      details: { name: 'd3', group: 'apps', kind: 'deployments' },
    });
    await apps.deleteCollectionNamespacedDeployment({ namespace: ns, labelSelector: 'route=r1' });
    expect((await apps.listNamespacedDeployment({ namespace: ns })).items).toEqual([]);

    await core.createNamespacedService({ namespace: ns, body: service('svc', { route: 'r1' }) });
    const deleted = await core.deleteNamespacedService({ name: 'svc', namespace: ns });
    expect(deleted).toMatchObject({ kind: 'Service', metadata: { name: 'svc' } });
    // Services do not support deletecollection (list + delete one by one instead).
    expect(
      await failure(core.deleteCollectionNamespacedService({ namespace: ns, labelSelector: 'route=r1' })),
    ).toMatchObject({
      code: 405,
      body: { reason: 'MethodNotAllowed' },
    });

    await core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 's1', labels: { route: 'r1' } } },
    });
    await core.deleteCollectionNamespacedSecret({ namespace: ns, labelSelector: 'route=r1' });
    expect(emu.control.objects({ kind: 'Secret' })).toEqual([]);
  });
});

describe('patches', () => {
  it('merge-patches, JSON-patches and strategic-merge-patches every kind', async () => {
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('tca-1') });
    await core.createNamespacedService({ namespace: ns, body: service('tca-1') });
    await core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'tok' }, stringData: { id: 'a' } },
    });

    const merged = await apps.patchNamespacedDeployment(
      {
        name: 'tca-1',
        namespace: ns,
        body: { metadata: { labels: { patched: 'merge' } }, spec: { replicas: 2 } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(merged.metadata?.labels?.['patched']).toBe('merge');
    expect(merged.spec?.replicas).toBe(2);
    expect(merged.metadata?.generation).toBe(2);

    // Typed patch calls default to JSON patch.
    const jsonPatched = await core.patchNamespacedService({
      name: 'tca-1',
      namespace: ns,
      body: [{ op: 'add', path: '/metadata/annotations', value: { 'x/hostname': 'h.example.com' } }],
    });
    expect(jsonPatched.metadata?.annotations).toEqual({ 'x/hostname': 'h.example.com' });

    const strategic = await apps.patchNamespacedDeployment(
      {
        name: 'tca-1',
        namespace: ns,
        body: {
          spec: {
            template: {
              spec: {
                containers: [
                  { name: 'cloudflared', env: [{ name: 'TUNNEL_SERVICE_HOSTNAME', value: 'h' }] },
                  { name: 'sidecar', image: 'busybox:1' },
                ],
              },
            },
          },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    const containers = strategic.spec?.template.spec?.containers ?? [];
    expect(containers.map((c) => c.name)).toEqual(['cloudflared', 'sidecar']);
    expect(containers[0]?.env?.map((e) => e.name)).toEqual(['TUNNEL_SERVICE_URL', 'TUNNEL_SERVICE_HOSTNAME']);
    expect(containers[0]?.image).toBe('cloudflare/cloudflared:2025.7.0');

    const svc = await core.patchNamespacedService(
      { name: 'tca-1', namespace: ns, body: { spec: { ports: [{ port: 10000, targetPort: 10001 }] } } },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    expect(svc.spec?.ports).toEqual([{ name: 'tcp', port: 10000, protocol: 'TCP', targetPort: 10001 }]);

    const secret = await core.patchNamespacedSecret(
      { name: 'tok', namespace: ns, body: { stringData: { secret: 'b' } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(secret.data).toEqual({ id: 'YQ==', secret: 'Yg==' });
    expect(secret.stringData).toBeUndefined();

    const stale = await failure(
      apps.patchNamespacedDeployment(
        { name: 'tca-1', namespace: ns, body: { metadata: { resourceVersion: '1' }, spec: { replicas: 5 } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    );
    expect(stale.code).toBe(409);
    const failedTest = await failure(
      core.patchNamespacedService({
        name: 'tca-1',
        namespace: ns,
        body: [{ op: 'test', path: '/spec/type', value: 'NodePort' }],
      }),
    );
    expect(failedTest.code).toBe(422);
    expect(
      (await failure(core.patchNamespacedService({ name: 'ghost', namespace: ns, body: [] }))).code,
    ).toBe(404);
  });
});

describe('server-side apply', () => {
  it('creates on apply, updates, records managedFields, and reports ownership conflicts like the real server', async () => {
    const created = await objects.patch(
      deployment('tca-1'),
      undefined,
      undefined,
      'tunnelplane',
      true,
      PatchStrategy.ServerSideApply,
    );
    expect(created.metadata?.managedFields).toEqual([
      expect.objectContaining({
        manager: 'tunnelplane',
        operation: 'Apply',
        apiVersion: 'apps/v1',
        fieldsType: 'FieldsV1',
      }),
    ]);
    const fields = created.metadata?.managedFields?.[0]?.fieldsV1 as Record<string, Record<string, unknown>>;
    expect(fields['f:spec']).toMatchObject({
      'f:replicas': {},
      'f:selector': {},
      'f:template': {
        'f:spec': { 'f:containers': { 'k:{"name":"cloudflared"}': { '.': {}, 'f:image': {} } } },
      },
    });
    expect(emu.control.requests({ method: 'PATCH' })[0]).toMatchObject({
      contentType: 'application/apply-patch+yaml',
      status: 201,
      query: { fieldManager: 'tunnelplane', force: 'true' },
    });

    const updated = await objects.patch(
      deployment('tca-1', {}, 'cloudflare/cloudflared:2025.8.0'),
      undefined,
      undefined,
      'tunnelplane',
      true,
      PatchStrategy.ServerSideApply,
    );
    expect(updated.spec?.template.spec?.containers[0]?.image).toBe('cloudflare/cloudflared:2025.8.0');
    expect(updated.metadata?.generation).toBe(2);

    // Another manager changing an owned field without force: 409 with causes.
    const other = deployment('tca-1', {}, 'evil/image:1');
    const conflict = await failure(
      objects.patch(other, undefined, undefined, 'someone-else', false, PatchStrategy.ServerSideApply),
    );
    expect(conflict.code).toBe(409);
    expect(conflict.body).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      reason: 'Conflict',
      message:
        'Apply failed with 1 conflict: conflict with "tunnelplane": .spec.template.spec.containers[name="cloudflared"].image',
      details: {
        causes: [
          {
            reason: 'FieldManagerConflict',
            message: 'conflict with "tunnelplane"',
            field: '.spec.template.spec.containers[name="cloudflared"].image',
          },
        ],
      },
    });

    // With force the field changes hands.
    const forced = await objects.patch(
      other,
      undefined,
      undefined,
      'someone-else',
      true,
      PatchStrategy.ServerSideApply,
    );
    expect(forced.spec?.template.spec?.containers[0]?.image).toBe('evil/image:1');
    const ours = forced.metadata?.managedFields?.find((m) => m.manager === 'tunnelplane');
    expect(JSON.stringify(ours?.fieldsV1)).not.toContain('f:image');
  });

  it('treats re-applying the same configuration as a no-op (no new resourceVersion)', async () => {
    const svc = service('tca-1');
    const first = await objects.patch(
      svc,
      undefined,
      undefined,
      'tunnelplane',
      true,
      PatchStrategy.ServerSideApply,
    );
    const again = await objects.patch(
      svc,
      undefined,
      undefined,
      'tunnelplane',
      true,
      PatchStrategy.ServerSideApply,
    );
    expect(again.metadata?.resourceVersion).toBe(first.metadata?.resourceVersion);
    expect(again.spec?.clusterIP).toBe(first.spec?.clusterIP);
  });

  it('applies every kind through the typed API too, and requires a fieldManager', async () => {
    const svc = await core.patchNamespacedService(
      { name: 'tca-1', namespace: ns, body: service('tca-1'), fieldManager: 'tunnelplane', force: true },
      setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
    );
    expect(svc.spec).toMatchObject({
      type: 'ClusterIP',
      ports: [{ port: 10000, protocol: 'TCP', targetPort: 'tcp' }],
    });
    const secret = await core.patchNamespacedSecret(
      {
        name: 'tok',
        namespace: ns,
        body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'tok' }, data: { id: 'YQ==' } },
        fieldManager: 'tunnelplane',
      },
      setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
    );
    expect(secret).toMatchObject({ type: 'Opaque', data: { id: 'YQ==' } });

    const missing = await failure(
      apps.patchNamespacedDeployment(
        { name: 'tca-1', namespace: ns, body: deployment('tca-1') },
        setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
      ),
    );
    expect(missing).toEqual({
      code: 422,
      body: expect.objectContaining({
        reason: 'Invalid',
        message:
          'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
        details: {
          group: 'meta.k8s.io',
          kind: 'PatchOptions',
          causes: [
            {
              reason: 'FieldValueRequired',
              message: 'Required value: is required for apply patch',
              field: 'fieldManager',
            },
          ],
        },
      }),
    });
  });
});

describe('validation', () => {
  it('rejects a Service name over 63 characters with the real message', async () => {
    const name = `tunnel-access-${'a'.repeat(50)}`;
    const body = { ...service(name), spec: { selector: { app: 'x' }, ports: [{ port: 80 }] } };
    const result = await failure(core.createNamespacedService({ namespace: ns, body }));
    expect(result.code).toBe(422);
    expect(result.body).toMatchObject({
      reason: 'Invalid',
      message: `Service "${name}" is invalid: metadata.name: Invalid value: "${name}": must be no more than 63 characters`,
      details: {
        name,
        kind: 'Service',
        causes: [
          {
            reason: 'FieldValueInvalid',
            message: `Invalid value: "${name}": must be no more than 63 characters`,
            field: 'metadata.name',
          },
        ],
      },
    });
  });

  it('accepts a long Deployment name but rejects over-long label values', async () => {
    const name = `tunnel-access-${'a'.repeat(36)}-${'b'.repeat(36)}`;
    const body = deployment(name);
    body.spec!.selector = { matchLabels: { app: 'x' } };
    body.spec!.template.metadata = { labels: { app: 'x' } };
    body.metadata!.labels = { deployment: name };
    const result = await failure(apps.createNamespacedDeployment({ namespace: ns, body }));
    expect(result.code).toBe(422);
    expect(result.body?.['message']).toBe(
      `Deployment.apps "${name}" is invalid: metadata.labels: Invalid value: "${name}": must be no more than 63 characters`,
    );
    body.metadata!.labels = {};
    await apps.createNamespacedDeployment({ namespace: ns, body });
    const tooLong = await failure(
      apps.createNamespacedDeployment({ namespace: ns, body: deployment('x'.repeat(254)) }),
    );
    expect(tooLong.body?.['message']).toMatch(
      /metadata\.name: Invalid value: "x{254}": must be no more than 253 characters/,
    );
  });

  it('rejects bad label keys and base64', async () => {
    const badKey = await failure(
      core.createNamespacedSecret({
        namespace: ns,
        body: { metadata: { name: 's', labels: { 'a/b/c': 'x' } } },
      }),
    );
    expect(badKey.body?.['message']).toMatch(
      /^Secret "s" is invalid: metadata\.labels: Invalid value: "a\/b\/c": a qualified name must consist of/,
    );
    const badData = await failure(
      core.createNamespacedSecret({
        namespace: ns,
        body: { metadata: { name: 's' }, data: { k: 'not base64!' } },
      }),
    );
    expect(badData).toMatchObject({ code: 400, body: { reason: 'BadRequest' } });
  });
});

describe('defaults', () => {
  it('Services get a ClusterIP from 10.96.0.0/12, TCP and targetPort; Secrets fold stringData into data', async () => {
    const svc = await core.createNamespacedService({
      namespace: ns,
      body: { metadata: { name: 'plain' }, spec: { selector: { a: 'b' }, ports: [{ port: 8080 }] } },
    });
    expect(svc.spec?.type).toBe('ClusterIP');
    expect(svc.spec?.clusterIP).toMatch(/^10\.(9[6-9]|10[0-9]|11[01])\.\d+\.\d+$/);
    expect(svc.spec?.clusterIPs).toEqual([svc.spec?.clusterIP]);
    expect(svc.spec?.ports).toEqual([{ port: 8080, protocol: 'TCP', targetPort: 8080 }]);
    const other = await core.createNamespacedService({ namespace: ns, body: service('other') });
    expect(other.spec?.clusterIP).not.toBe(svc.spec?.clusterIP);

    const secret = await core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'tok' }, data: { a: 'YQ==' }, stringData: { b: 'bee' } },
    });
    expect(secret.type).toBe('Opaque');
    expect(secret.data).toEqual({ a: 'YQ==', b: Buffer.from('bee').toString('base64') });
    expect(secret.stringData).toBeUndefined();
    expect(
      (emu.control.objects({ kind: 'secret', name: 'tok' })[0] as Record<string, unknown>)['stringData'],
    ).toBeUndefined();
  });
});

describe('RBAC', () => {
  it('gives a namespaced Role token exactly its verbs, with the real Forbidden message', async () => {
    const token = emu.control.addToken({
      role: `
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: tunnel-control-plane, namespace: ${ns}}
rules:
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "list", "create", "patch"]
`,
    });
    const limited = clients(token);
    await limited.apps.createNamespacedDeployment({ namespace: ns, body: deployment('tca-1') });
    expect((await limited.apps.listNamespacedDeployment({ namespace: ns })).items).toHaveLength(1);

    const denied = await failure(limited.apps.deleteNamespacedDeployment({ name: 'tca-1', namespace: ns }));
    expect(denied).toEqual({
      code: 403,
      body: {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: `deployments.apps "tca-1" is forbidden: User "system:serviceaccount:${ns}:tunnel-control-plane" cannot delete resource "deployments" in API group "apps" in the namespace "${ns}"`,
        reason: 'Forbidden',
        details: { name: 'tca-1', group: 'apps', kind: 'deployments' },
        code: 403,
      },
    });
    const svc = await failure(limited.core.listNamespacedService({ namespace: ns }));
    expect(svc.body?.['message']).toBe(
      `services is forbidden: User "system:serviceaccount:${ns}:tunnel-control-plane" cannot list resource "services" in API group "" in the namespace "${ns}"`,
    );
    const elsewhere = await failure(limited.apps.listNamespacedDeployment({ namespace: 'default' }));
    expect(elsewhere.code).toBe(403);
    const clusterWide = await failure(limited.apps.listDeploymentForAllNamespaces());
    expect(clusterWide.body?.['message']).toMatch(
      /cannot list resource "deployments" in API group "apps" at the cluster scope$/,
    );
    expect(
      emu.control
        .requests({ status: 403 })
        .every((r) => r.user === `system:serviceaccount:${ns}:tunnel-control-plane`),
    ).toBe(true);
  });

  it('authorizes create-on-apply as create too, and rejects unknown tokens with 401', async () => {
    const token = emu.control.addToken({
      namespace: ns,
      serviceAccount: 'applier',
      rules: [{ apiGroups: [''], resources: ['services'], verbs: ['get', 'patch'] }],
    });
    const limited = clients(token);
    const denied = await failure(
      limited.objects.patch(
        service('svc'),
        undefined,
        undefined,
        'tunnelplane',
        true,
        PatchStrategy.ServerSideApply,
      ),
    );
    expect(denied.body?.['message']).toBe(
      `services "svc" is forbidden: User "system:serviceaccount:${ns}:applier" cannot create resource "services" in API group "" in the namespace "${ns}"`,
    );
    const anonymous = await failure(clients('not-a-token').core.listNamespacedService({ namespace: ns }));
    expect(anonymous.code).toBe(401);
  });
});

describe('simulated Deployment status', () => {
  it('becomes ready after the delay, and stays unavailable while pods fail', async () => {
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: { ...deployment('tca-1'), spec: { ...deployment('tca-1').spec!, replicas: 2 } },
    });
    const initial = await apps.readNamespacedDeployment({ name: 'tca-1', namespace: ns });
    expect(initial.status?.readyReplicas).toBeUndefined();
    const ready = await until(
      () => apps.readNamespacedDeployment({ name: 'tca-1', namespace: ns }),
      (d) => d.status?.readyReplicas === 2,
    );
    expect(ready.status).toMatchObject({
      replicas: 2,
      updatedReplicas: 2,
      readyReplicas: 2,
      availableReplicas: 2,
      observedGeneration: 1,
    });
    expect(ready.status?.conditions?.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['Available', 'True', 'MinimumReplicasAvailable'],
      ['Progressing', 'True', 'NewReplicaSetAvailable'],
    ]);
    expect(ready.metadata?.annotations?.['deployment.kubernetes.io/revision']).toBe('1');

    emu.control.setPodsFailing(ns, 'tca-1', true, { reason: 'CrashLoopBackOff' });
    const failing = await until(
      () => apps.readNamespacedDeployment({ name: 'tca-1', namespace: ns }),
      (d) => d.status?.availableReplicas === undefined,
    );
    expect(failing.status).toMatchObject({ unavailableReplicas: 2 });
    expect(failing.status?.conditions?.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['Available', 'False', 'MinimumReplicasUnavailable'],
      ['Progressing', 'False', 'CrashLoopBackOff'],
    ]);

    emu.control.setPodsFailing(ns, '*', false);
    const recovered = await until(
      () => apps.readNamespacedDeployment({ name: 'tca-1', namespace: ns }),
      (d) => d.status?.readyReplicas === 2,
    );
    expect(recovered.status?.conditions?.[0]?.status).toBe('True');
  });

  it('applies pod failure to Deployments created later in the namespace with "*"', async () => {
    emu.control.setPodsFailing(ns, '*', true);
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('tca-2') });
    const status = await until(
      () => apps.readNamespacedDeployment({ name: 'tca-2', namespace: ns }),
      (d) => d.status?.observedGeneration === 1,
    );
    expect(status.status?.readyReplicas).toBeUndefined();
    expect(status.status?.conditions?.[1]).toMatchObject({
      type: 'Progressing',
      status: 'False',
      reason: 'ProgressDeadlineExceeded',
    });
  });
});

describe('watch', () => {
  it('feeds a client-node informer (list, then watch from the list resourceVersion)', async () => {
    const kc = new KubeConfig();
    kc.loadFromString(emu.kubeconfig());
    const informer = makeInformer(kc, `/apis/apps/v1/namespaces/${ns}/deployments`, () =>
      apps.listNamespacedDeployment({ namespace: ns }),
    );
    const seen: string[] = [];
    informer.on('add', (d) => seen.push(`add ${d.metadata?.name}`));
    informer.on('update', (d) =>
      seen.push(`update ${d.metadata?.name} ready=${d.status?.readyReplicas ?? 0}`),
    );
    informer.on('delete', (d) => seen.push(`delete ${d.metadata?.name}`));
    await informer.start();
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('tca-w') });
    await until(
      async () => seen,
      (s) => s.includes('update tca-w ready=1'),
    );
    await apps.deleteNamespacedDeployment({ name: 'tca-w', namespace: ns });
    await until(
      async () => seen,
      (s) => s.includes('delete tca-w'),
    );
    await informer.stop();
    expect(seen).toEqual(['add tca-w', 'update tca-w ready=1', 'delete tca-w']);
    expect(
      emu.control
        .requests({ path: `/apis/apps/v1/namespaces/${ns}/deployments` })
        .some((r) => r.query['watch'] === 'true'),
    ).toBe(true);
  });
});

describe('discovery and namespaces', () => {
  it('serves discovery for KubernetesObjectApi and lists the configured namespaces', async () => {
    const read = await objects.list('v1', 'Namespace');
    expect(read.items.map((n) => n.metadata?.name)).toEqual(['default', 'tunnel-control-plane']);
    const resources = await apps.getAPIResources();
    expect(resources.resources.find((r) => r.name === 'deployments')?.verbs).toContain('deletecollection');
    const coreResources = await core.getAPIResources();
    expect(coreResources.resources.find((r) => r.name === 'services')?.verbs).not.toContain(
      'deletecollection',
    );
    const namespace = await core.readNamespace({ name: ns });
    expect(namespace.status?.phase).toBe('Active');
  });
});
