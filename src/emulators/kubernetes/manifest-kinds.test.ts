/**
 * The kinds an installation's manifests use, over HTTP as a client sees them: discovery,
 * defaulting, the new validation rules answered as the real server answers them (422 Invalid
 * with causes), immutable fields, dry runs.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { StartedKubernetesEmulator } from './index.js';
import { startKubernetesEmulator } from './index.js';
import { validateNetworkPolicy, validateIngress } from './validation-network.js';
import { validatePodDisruptionBudget } from './validation-workloads.js';
import { fieldErrorText } from './status.js';

let emu: StartedKubernetesEmulator;
const NS = 'tunnelplane';

beforeAll(async () => {
  emu = await startKubernetesEmulator({ namespaces: [NS], token: 'admin-token' });
});
afterAll(() => emu.close());
beforeEach(() => emu.control.reset());

async function api(method: string, path: string, body?: unknown) {
  const res = await fetch(`${emu.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${emu.token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as any };
}

const rbac = `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}`;
const core = `/api/v1/namespaces/${NS}`;

describe('discovery', () => {
  it.each([
    ['/api/v1', 'configmaps', 'ConfigMap', ['cm']],
    ['/api/v1', 'serviceaccounts', 'ServiceAccount', ['sa']],
    ['/api/v1', 'persistentvolumeclaims', 'PersistentVolumeClaim', ['pvc']],
    ['/apis/apps/v1', 'statefulsets', 'StatefulSet', ['sts']],
    ['/apis/rbac.authorization.k8s.io/v1', 'roles', 'Role', undefined],
    ['/apis/rbac.authorization.k8s.io/v1', 'rolebindings', 'RoleBinding', undefined],
    ['/apis/policy/v1', 'poddisruptionbudgets', 'PodDisruptionBudget', ['pdb']],
    ['/apis/networking.k8s.io/v1', 'networkpolicies', 'NetworkPolicy', ['netpol']],
    ['/apis/networking.k8s.io/v1', 'ingresses', 'Ingress', ['ing']],
  ])('%s lists %s (namespaced, every verb)', async (path, plural, kind, shortNames) => {
    const list = (await api('GET', path)).body;
    const entry = list.resources.find((r: any) => r.name === plural);
    expect(entry).toMatchObject({ kind, namespaced: true, singularName: kind.toLowerCase() });
    expect(entry.shortNames).toEqual(shortNames);
    expect(entry.verbs).toEqual([
      'create',
      'delete',
      'deletecollection',
      'get',
      'list',
      'patch',
      'update',
      'watch',
    ]);
  });
});

describe('validation as the real server answers it', () => {
  it('refuses a Role rule without verbs (any verb string is accepted)', async () => {
    const res = await api('POST', `${rbac}/roles`, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'tunnelplane' },
      rules: [
        { apiGroups: ['apps'], resources: ['deployments'], verbs: ['gett'] },
        { apiGroups: [''], resources: ['services'], verbs: [] },
        { verbs: ['get'] },
      ],
    });
    expect(res.status).toBe(422);
    expect(res.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'Role.rbac.authorization.k8s.io "tunnelplane" is invalid: [rules[1].verbs: Required value: verbs must contain at least one value, rules[2].apiGroups: Required value: resource rules must supply at least one api group, rules[2].resources: Required value: resource rules must supply at least one resource]',
      reason: 'Invalid',
      details: {
        name: 'tunnelplane',
        group: 'rbac.authorization.k8s.io',
        kind: 'Role',
        causes: [
          {
            reason: 'FieldValueRequired',
            message: 'Required value: verbs must contain at least one value',
            field: 'rules[1].verbs',
          },
          {
            reason: 'FieldValueRequired',
            message: 'Required value: resource rules must supply at least one api group',
            field: 'rules[2].apiGroups',
          },
          {
            reason: 'FieldValueRequired',
            message: 'Required value: resource rules must supply at least one resource',
            field: 'rules[2].resources',
          },
        ],
      },
      code: 422,
    });
  });

  it('refuses a PersistentVolumeClaim without access modes or a storage request', async () => {
    const res = await api('POST', `${core}/persistentvolumeclaims`, {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'data' },
      spec: {},
    });
    expect(res.status).toBe(422);
    expect(res.body.message).toBe(
      'PersistentVolumeClaim "data" is invalid: [spec.accessModes: Required value: at least 1 access mode is required, spec.resources[storage]: Required value]',
    );
    expect(res.body.details.causes).toEqual([
      {
        reason: 'FieldValueRequired',
        message: 'Required value: at least 1 access mode is required',
        field: 'spec.accessModes',
      },
      { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.resources[storage]' },
    ]);
    const badQuantity = await api('POST', `${core}/persistentvolumeclaims`, {
      metadata: { name: 'data' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1 GB' } } },
    });
    expect(badQuantity.status).toBe(400);
    expect(badQuantity.body.message).toContain('quantities must match the regular expression');
  });

  it('defaults a claim, keeps its spec but for the requests, and dry-runs without storing', async () => {
    const claim = {
      metadata: { name: 'data' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    };
    const dry = await api('POST', `${core}/persistentvolumeclaims?dryRun=All`, claim);
    expect(dry.status).toBe(201);
    expect(emu.control.objects({ kind: 'PersistentVolumeClaim' })).toEqual([]);
    const created = (await api('POST', `${core}/persistentvolumeclaims`, claim)).body;
    expect(created.spec.volumeMode).toBe('Filesystem');
    expect(created.status).toEqual({ phase: 'Pending' });
    const changed = await api('PUT', `${core}/persistentvolumeclaims/data`, {
      ...created,
      spec: { ...created.spec, accessModes: ['ReadWriteMany'] },
    });
    expect(changed.status).toBe(422);
    expect(changed.body.message).toBe(
      'PersistentVolumeClaim "data" is invalid: spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims',
    );
  });

  it("defaults a RoleBinding's roleRef group and refuses changing its roleRef", async () => {
    const binding = {
      metadata: { name: 'tunnelplane' },
      roleRef: { kind: 'Role', name: 'tunnelplane' },
      subjects: [{ kind: 'ServiceAccount', name: 'tunnelplane', namespace: NS }],
    };
    const created = await api('POST', `${rbac}/rolebindings`, binding);
    expect(created.status).toBe(201);
    expect(created.body.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: 'tunnelplane',
    });
    const changed = await api('PUT', `${rbac}/rolebindings/tunnelplane`, {
      ...created.body,
      roleRef: { ...created.body.roleRef, name: 'other' },
    });
    expect(changed.status).toBe(422);
    expect(changed.body.message).toBe(
      'RoleBinding.rbac.authorization.k8s.io "tunnelplane" is invalid: roleRef: Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"Role", Name:"other"}: cannot change roleRef',
    );
    const badSubject = await api('POST', `${rbac}/rolebindings`, {
      ...binding,
      metadata: { name: 'b' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Roles', name: 'x' },
      subjects: [{ kind: 'Robot', name: 'r' }],
    });
    expect(badSubject.body.message).toBe(
      'RoleBinding.rbac.authorization.k8s.io "b" is invalid: [roleRef.kind: Unsupported value: "Roles": supported values: "Role", "ClusterRole", subjects[0].kind: Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"]',
    );
  });

  it('defaults a StatefulSet and allows only the mutable part of its spec to change', async () => {
    const sts = {
      metadata: { name: 'postgres' },
      spec: {
        serviceName: 'postgres',
        selector: { matchLabels: { app: 'postgres' } },
        template: {
          metadata: { labels: { app: 'postgres' } },
          spec: { containers: [{ name: 'postgres', image: 'postgres:16' }] },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: 'data' },
            spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
          },
        ],
      },
    };
    const created = (await api('POST', `/apis/apps/v1/namespaces/${NS}/statefulsets`, sts)).body;
    expect(created.metadata.generation).toBe(1);
    expect(created.spec).toMatchObject({
      replicas: 1,
      podManagementPolicy: 'OrderedReady',
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
      revisionHistoryLimit: 10,
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
      volumeClaimTemplates: [
        {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          spec: { volumeMode: 'Filesystem' },
          status: { phase: 'Pending' },
        },
      ],
    });
    const renamed = await api('PUT', `/apis/apps/v1/namespaces/${NS}/statefulsets/postgres`, {
      ...created,
      spec: { ...created.spec, serviceName: 'db' },
    });
    expect(renamed.status).toBe(422);
    expect(renamed.body.message).toContain(
      "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    );
    const scaled = await api('PUT', `/apis/apps/v1/namespaces/${NS}/statefulsets/postgres`, {
      ...created,
      spec: { ...created.spec, replicas: 3 },
    });
    expect(scaled.status).toBe(200);
    expect(scaled.body.metadata.generation).toBe(2);
    const noClaim = await api('POST', `/apis/apps/v1/namespaces/${NS}/statefulsets`, {
      ...sts,
      metadata: { name: 'x' },
      spec: { ...sts.spec, volumeClaimTemplates: [{ metadata: { name: 'd' }, spec: {} }] },
    });
    expect(noClaim.body.details.causes.map((c: any) => c.field)).toEqual([
      'spec.volumeClaimTemplates[0].spec.accessModes',
      'spec.volumeClaimTemplates[0].spec.resources[storage]',
    ]);
  });

  it('defaults a NetworkPolicy (policy types, port protocols) and a budget status', async () => {
    const policy = (
      await api('POST', `/apis/networking.k8s.io/v1/namespaces/${NS}/networkpolicies`, {
        metadata: { name: 'p' },
        spec: { podSelector: {}, ingress: [{ ports: [{ port: 5000 }] }] },
      })
    ).body;
    expect(policy.spec).toEqual({
      podSelector: {},
      ingress: [{ ports: [{ port: 5000, protocol: 'TCP' }] }],
      policyTypes: ['Ingress'],
    });
    const pdb = (
      await api('POST', `/apis/policy/v1/namespaces/${NS}/poddisruptionbudgets`, {
        metadata: { name: 'p' },
        spec: { maxUnavailable: 1, selector: { matchLabels: { app: 'x' } } },
      })
    ).body;
    expect(pdb.status).toEqual({
      disruptionsAllowed: 0,
      currentHealthy: 0,
      desiredHealthy: 0,
      expectedPods: 0,
    });
  });
});

const texts = (errs: { field: string }[]) => errs.map((e) => fieldErrorText(e as any));

describe('rules without a round trip', () => {
  it.each([
    [
      { spec: { ingress: [{ from: [{}] }] } },
      ['spec.ingress[0].from[0]: Required value: must specify a peer'],
    ],
    [
      { spec: { ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }] }] } },
      ['spec.ingress[0].from[0]: Forbidden: may not specify both ipBlock and another peer'],
    ],
    [
      { spec: { egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0' } }] }] } },
      [
        'spec.egress[0].to[0].ipBlock.cidr: Invalid value: "10.0.0.0": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)',
      ],
    ],
    [
      { spec: { policyTypes: ['Ingres'] } },
      ['spec.policyTypes[0]: Unsupported value: "Ingres": supported values: "Ingress", "Egress"'],
    ],
  ])('NetworkPolicy %j', (obj, expected) => {
    expect(texts(validateNetworkPolicy({ metadata: { name: 'p' }, ...obj }))).toEqual(expected);
  });

  it.each([
    [
      {},
      [
        'spec: Invalid value: []networking.IngressRule(nil): either `defaultBackend` or `rules` must be specified',
      ],
    ],
    [
      {
        rules: [{ host: '10.0.0.1', http: { paths: [{ path: 'x', backend: { service: { name: 'tp' } } }] } }],
      },
      [
        'spec.rules[0].host: Invalid value: "10.0.0.1": must be a DNS name, not an IP address',
        'spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified',
        'spec.rules[0].http.paths[0].backend: Required value: port name or number is required',
      ],
    ],
    [
      {
        rules: [
          {
            host: 'tp.example.com',
            http: {
              paths: [
                {
                  path: 'x',
                  pathType: 'Prefix',
                  backend: { service: { name: 'tp', port: { name: 'http' } } },
                },
              ],
            },
          },
        ],
      },
      ['spec.rules[0].http.paths[0].path: Invalid value: "x": must be an absolute path'],
    ],
  ])('Ingress spec %j', (spec, expected) => {
    expect(texts(validateIngress({ metadata: { name: 'i' }, spec }))).toEqual(expected);
  });

  it.each([
    [
      { minAvailable: 1, maxUnavailable: 1 },
      [
        'spec: Invalid value: policy.PodDisruptionBudgetSpec{…}: minAvailable and maxUnavailable cannot be both set',
      ],
    ],
    [
      { maxUnavailable: '150%' },
      ['spec.maxUnavailable: Invalid value: "150%": must not be greater than 100%'],
    ],
    [
      { minAvailable: 'one' },
      ['spec.minAvailable: Invalid value: "one": must be an integer or percentage (e.g \'5%\')'],
    ],
    [{ minAvailable: -1 }, ['spec.minAvailable: Invalid value: -1: must be greater than or equal to 0']],
  ])('PodDisruptionBudget spec %j', (spec, expected) => {
    expect(texts(validatePodDisruptionBudget({ metadata: { name: 'p' }, spec }))).toEqual(expected);
  });
});
