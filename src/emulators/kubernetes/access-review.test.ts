/**
 * SelfSubjectAccessReviews as kube-apiserver v1.32 answers them, through the official client
 * and as raw requests: the same rules as every request, any authenticated user may ask, and
 * the real Status for a spec with neither or both kinds of attributes.
 */
import { AuthorizationV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StartedKubernetesEmulator } from './index.js';
import { DEFAULT_NAMESPACES, startKubernetesEmulator } from './index.js';

const NS = DEFAULT_NAMESPACES[0]!;
const PATH = '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews';
let emu: StartedKubernetesEmulator;
let limited: string;

beforeAll(async () => {
  emu = await startKubernetesEmulator();
  limited = emu.control.addToken({
    namespace: emu.namespace,
    rules: [
      { apiGroups: ['apps'], resources: ['deployments'], verbs: ['list', 'create'] },
      { apiGroups: [''], resources: ['secrets'], verbs: ['*'], resourceNames: ['one'] },
    ],
  });
});
afterAll(() => emu.close());

function authorization(token: string) {
  const kc = new KubeConfig();
  kc.loadFromString(emu.kubeconfig({ token }));
  return kc.makeApiClient(AuthorizationV1Api);
}

const post = (token: string, body: unknown, method = 'POST') =>
  fetch(`${emu.url}${PATH}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(method === 'GET' ? {} : { body: JSON.stringify(body) }),
  }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, any> }));

describe('SelfSubjectAccessReview', () => {
  it.each([
    ['list', 'apps', 'deployments', undefined, NS, true],
    ['create', 'apps', 'deployments', undefined, NS, true],
    ['patch', 'apps', 'deployments', undefined, NS, false],
    ['list', '', 'services', undefined, NS, false],
    ['get', '', 'secrets', 'one', NS, true],
    ['get', '', 'secrets', 'two', NS, false],
    ['list', 'apps', 'deployments', undefined, 'default', false],
    ['list', 'apps', 'deployments', undefined, '', false],
  ])('%s %s/%s (name %s) in %s: allowed %s', async (verb, group, resource, name, namespace, allowed) => {
    const review = await authorization(limited).createSelfSubjectAccessReview({
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: {
          resourceAttributes: {
            verb,
            group,
            resource,
            namespace,
            ...(name ? { name } : {}),
          },
        },
      },
    });
    expect(review.status?.allowed).toBe(allowed);
  });

  it('answers 201 with the review echoed as Go encodes it (empty strings dropped)', async () => {
    const r = await post(limited, {
      kind: 'SelfSubjectAccessReview',
      apiVersion: 'authorization.k8s.io/v1',
      spec: {
        resourceAttributes: {
          namespace: emu.namespace,
          verb: 'list',
          group: '',
          resource: 'secrets',
          extra: 1,
        },
      },
    });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({
      kind: 'SelfSubjectAccessReview',
      apiVersion: 'authorization.k8s.io/v1',
      metadata: { creationTimestamp: null },
      spec: { resourceAttributes: { namespace: emu.namespace, verb: 'list', resource: 'secrets' } },
      status: { allowed: false },
    });
  });

  it('lets the admin do anything, and everyone get discovery paths but nothing else', async () => {
    const admin = await authorization(emu.token).createSelfSubjectAccessReview({
      body: { spec: { resourceAttributes: { verb: 'delete', resource: 'namespaces' } } },
    });
    expect(admin.status?.allowed).toBe(true);
    for (const [path, verb, allowed] of [
      ['/apis/apps/v1', 'get', true],
      ['/version', 'get', true],
      ['/metrics', 'get', false],
      ['/api', 'post', false],
    ] as const) {
      const r = await post(limited, { spec: { nonResourceAttributes: { path, verb } } });
      expect([path, verb, r.status, r.body.status]).toEqual([path, verb, 201, { allowed }]);
    }
  });

  it('refuses a spec with neither or both kinds of attributes, as the real validation words it', async () => {
    const neither = await post(limited, { spec: {} });
    expect(neither.status).toBe(422);
    expect(neither.body).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      reason: 'Invalid',
      code: 422,
      message:
        'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified',
      details: { group: 'authorization.k8s.io', kind: 'SelfSubjectAccessReview' },
    });
    const both = await post(limited, {
      spec: { resourceAttributes: { verb: 'get' }, nonResourceAttributes: { path: '/api', verb: 'get' } },
    });
    expect(both.status).toBe(422);
    expect(both.body.message).toBe(
      'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.nonResourceAttributes: Invalid value: authorization.NonResourceAttributes{Path:"/api", Verb:"get"}: cannot be specified in combination with resourceAttributes',
    );
  });

  it('needs a token, is only created, and takes only its own kind', async () => {
    expect((await post('nobody', { spec: {} })).status).toBe(401);
    expect((await post(limited, undefined, 'GET')).status).toBe(405);
    const other = await post(limited, { kind: 'SubjectAccessReview', apiVersion: 'authorization.k8s.io/v1' });
    expect(other.status).toBe(400);
    expect(other.body.message).toMatch(/cannot be handled as a SelfSubjectAccessReview/);
  });
});
