/**
 * The Kubernetes adapter: the only code that imports `@kubernetes/client-node`. Objects are
 * written with server-side apply under the field manager `tunnelplane` (idempotent: applying
 * the same object twice changes nothing), deleted by name (already gone counts as done), and
 * listed by our `managed-by` label for orphan collection. Errors become `ProviderError` here.
 */
import {
  ApiException,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { ProviderError } from '../../domain/errors.js';
import type { KubeObject } from '../../domain/access-objects.js';

export const FIELD_MANAGER = 'tunnelplane';

export interface ManagedObject {
  kind: 'Deployment' | 'Service' | 'Secret';
  name: string;
  labels: Record<string, string>;
  /** `metadata.creationTimestamp` (ISO 8601; null if absent). */
  createdAt: string | null;
}

export interface KubernetesApi {
  readonly namespace: string;
  apply(obj: KubeObject): Promise<void>;
  remove(kind: ManagedObject['kind'], name: string): Promise<void>;
  /** Every Deployment, Service and Secret in the namespace carrying `selector`. */
  listManaged(selector: string): Promise<ManagedObject[]>;
  /** Ready replicas vs desired, per Deployment name, for those carrying `selector`. */
  deploymentReadiness(selector: string): Promise<Map<string, { ready: boolean; reason: string | null }>>;
}

const KINDS: Record<ManagedObject['kind'], string> = { Deployment: 'apps/v1', Service: 'v1', Secret: 'v1' };

export function translateKubernetesError(err: unknown, what: string): ProviderError {
  if (err instanceof ProviderError) return err;
  if (err instanceof ApiException) {
    const code = err.code;
    let body: { message?: string; reason?: string } = {};
    try {
      body =
        typeof err.body === 'string'
          ? (JSON.parse(err.body) as typeof body)
          : ((err.body ?? {}) as typeof body);
    } catch {
      // not JSON
    }
    const detail = body.message ?? String(err.body ?? err.message).slice(0, 300);
    let kind: ProviderError['kind'];
    if (code === 404) kind = 'not_found';
    else if (code === 409) kind = 'conflict';
    else if (code === 401 || code === 403) kind = 'permission';
    else if (code === 429) kind = 'rate_limited';
    else if (code >= 500) kind = 'transient';
    else kind = 'invalid';
    const hint =
      code === 403
        ? " (grant the verbs in deploy/base/rbac.yaml to the control plane's service account)"
        : '';
    return new ProviderError({
      provider: 'kubernetes',
      kind,
      status: code,
      providerCode: body.reason ?? null,
      message: `${what}: Kubernetes answered ${code}: ${detail}${hint}`,
      cause: err,
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new ProviderError({
    provider: 'kubernetes',
    kind: 'transient',
    message: `${what}: ${message}`,
    cause: err,
  });
}

export interface KubernetesApiOptions {
  /** A kubeconfig file; without one, the in-cluster service account is used. */
  kubeconfigPath?: string;
  /** Kubeconfig text (tests). */
  kubeconfigText?: string;
  namespace: string;
}

/** The client configuration: the kubeconfig text or file, else the in-cluster service account. */
export function loadKubeConfig(opts: Omit<KubernetesApiOptions, 'namespace'>): KubeConfig {
  const kc = new KubeConfig();
  if (opts.kubeconfigText) kc.loadFromString(opts.kubeconfigText);
  else if (opts.kubeconfigPath) kc.loadFromFile(opts.kubeconfigPath);
  else kc.loadFromCluster();
  return kc;
}

export function createKubernetesApi(opts: KubernetesApiOptions): KubernetesApi {
  const client = KubernetesObjectApi.makeApiClient(loadKubeConfig(opts));
  const ns = opts.namespace;

  async function guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw translateKubernetesError(err, what);
    }
  }

  return {
    namespace: ns,
    apply: (obj) =>
      guard(`apply ${obj.kind} ${obj.metadata.name}`, async () => {
        await client.patch(
          obj as unknown as KubernetesObject,
          undefined,
          undefined,
          FIELD_MANAGER,
          true,
          PatchStrategy.ServerSideApply,
        );
      }),
    remove: (kind, name) =>
      guard(`delete ${kind} ${name}`, async () => {
        try {
          await client.delete(
            { apiVersion: KINDS[kind], kind, metadata: { name, namespace: ns } },
            undefined,
            undefined,
            undefined,
            undefined,
            'Background',
          );
        } catch (err) {
          if (err instanceof ApiException && err.code === 404) return;
          throw err;
        }
      }),
    listManaged: (selector) =>
      guard('list managed objects', async () => {
        const out: ManagedObject[] = [];
        for (const kind of Object.keys(KINDS) as ManagedObject['kind'][]) {
          const list = await client.list(
            KINDS[kind],
            kind,
            ns,
            undefined,
            undefined,
            undefined,
            undefined,
            selector,
          );
          for (const item of list.items) {
            const created = item.metadata?.creationTimestamp as Date | string | undefined;
            out.push({
              kind,
              name: item.metadata?.name ?? '',
              labels: item.metadata?.labels ?? {},
              createdAt: created ? new Date(created).toISOString() : null,
            });
          }
        }
        return out;
      }),
    deploymentReadiness: (selector) =>
      guard('read deployment status', async () => {
        const list = await client.list<
          KubernetesObject & {
            spec?: { replicas?: number };
            status?: {
              readyReplicas?: number;
              conditions?: Array<{ type?: string; status?: string; reason?: string; message?: string }>;
            };
          }
        >('apps/v1', 'Deployment', ns, undefined, undefined, undefined, undefined, selector);
        const out = new Map<string, { ready: boolean; reason: string | null }>();
        for (const d of list.items) {
          const want = d.spec?.replicas ?? 1;
          const ready = (d.status?.readyReplicas ?? 0) >= want && want > 0;
          const bad = d.status?.conditions?.find((c) => c.status === 'False');
          out.set(d.metadata?.name ?? '', {
            ready,
            reason: ready ? null : (bad?.message ?? bad?.reason ?? 'starting'),
          });
        }
        return out;
      }),
  };
}
