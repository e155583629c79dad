/**
 * The Kubernetes REST semantics, independent of sockets: resolve a request to (verb, resource,
 * namespace, name) the way the real RequestInfo does, authenticate, authorize, then get / list /
 * create / update / patch (JSON, merge, strategic, apply) / delete / deletecollection, with
 * request-level checks (content types, preconditions, selectors, Table output). Writing an
 * object is `object-writer.ts`'s job; watches are returned as a descriptor for `watch.ts`.
 *
 * Split by responsibility: `api-routing.ts` (path → verb/resource), `api-request.ts` (request
 * checks, authorization), `api-read.ts` (get/list/watch, Table), `api-write.ts` (create, update,
 * patch, apply, delete, scale), `api-types.ts` (the shapes), `access-review.ts`
 * (SelfSubjectAccessReviews); this module authenticates and dispatches. Every export of those
 * that callers use is re-exported here.
 */
import { isSelfSubjectAccessReview, selfSubjectAccessReview } from './access-review.js';
import { createReadHandlers } from './api-read.js';
import { authorize } from './api-request.js';
import type { ResolvedPath } from './api-routing.js';
import { resolve } from './api-routing.js';
import type { ApiOutcome, ApiRequest, ApiResult, KubernetesApi, KubernetesApiDeps } from './api-types.js';
import { createWriteHandlers } from './api-write.js';
import { versionDocument } from './discovery.js';
import { createObjectWriter } from './object-writer.js';
import type { Identity } from './rbac.js';
import type { ResourceType } from './resources.js';
import { resourceByPlural } from './resources.js';
import { KubeError, methodNotAllowed, pathNotFound, unauthorized } from './status.js';

export type {
  ApiOutcome,
  ApiRequest,
  ApiResult,
  KubernetesApi,
  KubernetesApiDeps,
  WatchRequest,
} from './api-types.js';
export { matchesObject, tableVersion } from './api-read.js';

export function createKubernetesApi(deps: KubernetesApiDeps): KubernetesApi {
  const { store, tokens } = deps;
  const writer = createObjectWriter({ store, readyDelayMs: deps.readyDelayMs });
  const deploymentsType = resourceByPlural('apps', 'deployments') as ResourceType;
  const namespacesType = resourceByPlural('', 'namespaces') as ResourceType;
  const { get, list, watch, selectObjects } = createReadHandlers(store);
  const { create, replace, patch, remove, removeCollection, scale } = createWriteHandlers({
    store,
    writer,
    selectObjects,
  });

  // ------------------------------------------------------------ dispatch

  function handleResource(
    req: ApiRequest,
    identity: Identity,
    attrs: NonNullable<ResolvedPath['attrs']>,
  ): ApiResult {
    authorize(identity, attrs);
    const rt = resourceByPlural(attrs.group, attrs.resource);
    if (
      rt === deploymentsType &&
      attrs.subresource === 'scale' &&
      attrs.namespace !== undefined &&
      attrs.name !== undefined
    ) {
      return scale(req, attrs.verb, attrs.namespace, attrs.name);
    }
    if (!rt || attrs.subresource !== undefined) throw pathNotFound();
    if (!rt.verbs.includes(attrs.verb)) throw methodNotAllowed();
    if (rt.namespaced && attrs.namespace === undefined && attrs.verb !== 'list' && attrs.verb !== 'watch')
      throw pathNotFound();
    if (rt === namespacesType && attrs.namespace !== attrs.name) throw pathNotFound();
    const namespace = rt.namespaced ? attrs.namespace : undefined;
    const ns = namespace ?? '';
    const name = attrs.name;

    switch (attrs.verb) {
      case 'get':
        return get(req, rt, ns, name);
      case 'list':
        return list(req, rt, namespace);
      case 'watch':
        return watch(req, rt, namespace);
      case 'create':
        return create(req, rt, ns);
      case 'update':
        return replace(req, rt, ns, name ?? '');
      case 'patch':
        return patch(req, identity, rt, ns, name ?? '');
      case 'delete':
        return remove(req, rt, ns, name ?? '');
      case 'deletecollection':
        return removeCollection(req, rt, ns);
    }
    throw methodNotAllowed();
  }

  // ------------------------------------------------------------ entry points

  function handle(req: ApiRequest): ApiOutcome {
    let user: string | undefined;
    try {
      const path = req.path.replace(/\/+$/, '') || '/';
      if (req.method === 'GET' && path === '/version')
        return { result: { kind: 'json', status: 200, body: versionDocument() } };
      if (req.method === 'GET' && ['/healthz', '/livez', '/readyz'].includes(path))
        return { result: { kind: 'text', status: 200, body: 'ok' } };
      const match = /^Bearer\s+(\S+)\s*$/i.exec(req.authorization);
      const identity = match ? tokens.authenticate(match[1] ?? '') : undefined;
      if (!identity) throw unauthorized();
      user = identity.user;
      const resolved = resolve({ ...req, path }, () => deps.serverAddress());
      if (resolved.nonResource) return { result: resolved.nonResource(), user };
      const attrs = resolved.attrs;
      if (!attrs) throw pathNotFound();
      // Every authenticated user may ask what it may do (system:basic-user).
      if (isSelfSubjectAccessReview(attrs.group, attrs.resource) && attrs.namespace === undefined) {
        if (attrs.name !== undefined) throw pathNotFound();
        return { result: selfSubjectAccessReview(req, identity, attrs.verb), user };
      }
      return { result: handleResource(req, identity, attrs), user };
    } catch (e) {
      if (e instanceof KubeError) {
        const result: ApiResult = { kind: 'json', status: e.code, body: e.status };
        return user === undefined ? { result } : { result, user };
      }
      throw e;
    }
  }

  return {
    handle,
    putObject: writer.putObject,
    deleteObject: (rt, namespace, name) =>
      writer.remove(rt, rt.namespaced ? namespace : '', name) !== undefined,
    addNamespace: writer.addNamespace,
    rollout: writer.rollout,
    close: () => writer.rollout.close(),
  };
}
