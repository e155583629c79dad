/**
 * What `tunnelplane doctor` asks a cluster before anything is written: whether the API server
 * answers (`GET /version`), and, per verb the adapter uses on each kind it manages, whether
 * this identity may (a SelfSubjectAccessReview, `authorization.k8s.io/v1`, which every
 * authenticated user may create). Nothing is changed in the cluster.
 */
import { AuthorizationV1Api, VersionApi } from '@kubernetes/client-node';
import { loadKubeConfig, translateKubernetesError, type KubernetesApiOptions } from './kubernetes-api.js';

export interface AccessCheck {
  verb: string;
  /** API group: `''` for the core group. */
  group: string;
  resource: string;
}

export interface AccessVerdict extends AccessCheck {
  allowed: boolean;
  /** Why, when the authorizer said (RBAC names the binding that allowed it). */
  reason: string | null;
}

/**
 * Every verb `createKubernetesApi` uses, on every kind it manages (the Role in
 * deploy/base/rbac.yaml grants exactly these): `apply` is a server-side apply (patch, and
 * create when the object is new), `remove` a delete, `listManaged` and `deploymentReadiness`
 * a list.
 */
export const REQUIRED_ACCESS: readonly AccessCheck[] = [
  { group: 'apps', resource: 'deployments' },
  { group: '', resource: 'services' },
  { group: '', resource: 'secrets' },
].flatMap((r) => ['list', 'create', 'patch', 'delete'].map((verb) => ({ ...r, verb })));

export interface ClusterProbe {
  /** The API server's address, from the kubeconfig (or the in-cluster environment). */
  readonly server: string;
  /** `GET /version`: the server's `gitVersion`. */
  version(): Promise<string>;
  /** One SelfSubjectAccessReview per check, in `namespace`. */
  review(checks: readonly AccessCheck[]): Promise<AccessVerdict[]>;
}

export function createClusterProbe(opts: KubernetesApiOptions): ClusterProbe {
  const kc = loadKubeConfig(opts);
  const versions = kc.makeApiClient(VersionApi);
  const authorization = kc.makeApiClient(AuthorizationV1Api);
  const guard = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw translateKubernetesError(err, what);
    }
  };
  return {
    server: kc.getCurrentCluster()?.server ?? '(no cluster in the kubeconfig)',
    version: () => guard('read the server version', async () => (await versions.getCode()).gitVersion),
    review: (checks) =>
      guard('review the access of this identity', () =>
        Promise.all(
          checks.map(async (c) => {
            const answer = await authorization.createSelfSubjectAccessReview({
              body: {
                apiVersion: 'authorization.k8s.io/v1',
                kind: 'SelfSubjectAccessReview',
                spec: {
                  resourceAttributes: {
                    namespace: opts.namespace,
                    verb: c.verb,
                    group: c.group,
                    resource: c.resource,
                  },
                },
              },
            });
            return {
              ...c,
              allowed: answer.status?.allowed === true,
              reason: answer.status?.reason || null,
            };
          }),
        ),
      ),
  };
}
