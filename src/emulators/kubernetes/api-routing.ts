/**
 * Routing: a request path resolved the way the real RequestInfo does — discovery (`/api`,
 * `/apis`, group and resource lists), OpenAPI v3 as non-resource endpoints, everything else
 * to (verb, group, resource, namespace, name, subresource) for authorization and dispatch.
 */
import type { ApiRequest, ApiResult } from './api-types.js';
import { apiGroup, coreVersions, groupList, resourceList } from './discovery.js';
import type { JsonObject } from './json.js';
import { openApiGroupVersion, openApiRoot } from './openapi.js';
import type { RequestAttributes } from './rbac.js';
import { methodNotAllowed, pathNotFound } from './status.js';

export interface ResolvedPath {
  /** Discovery and other non-resource endpoints. */
  nonResource?: () => ApiResult;
  attrs?: RequestAttributes & { collection: boolean };
}

/** `serverAddress` is the host:port for `/api`'s serverAddressByClientCIDRs. */
export function resolve(req: ApiRequest, serverAddress: () => string): ResolvedPath {
  const parts = req.path.split('/').filter((p) => p !== '');
  const method = req.method;
  const get = (fn: () => JsonObject | undefined): ResolvedPath => ({
    nonResource: () => {
      if (method !== 'GET') throw methodNotAllowed();
      const body = fn();
      if (!body) throw pathNotFound();
      return { kind: 'json', status: 200, body };
    },
  });
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === 'api') {
    if (parts.length === 1) return get(() => coreVersions(serverAddress()));
    group = '';
    version = parts[1] ?? '';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis') {
    if (parts.length === 1) return get(groupList);
    if (parts.length === 2) return get(() => apiGroup(parts[1] ?? ''));
    group = parts[1] ?? '';
    version = parts[2] ?? '';
    rest = parts.slice(3);
  } else if (parts[0] === 'openapi' && parts[1] === 'v3') {
    return parts.length === 2 ? get(openApiRoot) : get(() => openApiGroupVersion(parts.slice(2).join('/')));
  } else {
    return {
      nonResource: () => {
        throw pathNotFound();
      },
    };
  }
  if (rest.length === 0) return get(() => resourceList(group, version));
  if (version !== 'v1')
    return {
      nonResource: () => {
        throw pathNotFound();
      },
    };

  const watching = ['true', '1'].includes(req.query.get('watch') ?? '');
  let namespace: string | undefined;
  let resource: string;
  let name: string | undefined;
  let subresource: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    resource = rest[2] ?? '';
    name = rest[3];
    subresource = rest[4];
  } else if (rest[0] === 'namespaces' && group === '') {
    resource = 'namespaces';
    name = rest[1];
    namespace = name;
    subresource = rest[2];
  } else {
    resource = rest[0] ?? '';
    name = rest[1];
    subresource = rest[2];
  }
  const collection = name === undefined;
  let verb: string;
  switch (method) {
    case 'GET':
    case 'HEAD':
      verb = watching ? 'watch' : collection ? 'list' : 'get';
      break;
    case 'POST':
      verb = 'create';
      break;
    case 'PUT':
      verb = 'update';
      break;
    case 'PATCH':
      verb = 'patch';
      break;
    case 'DELETE':
      verb = collection ? 'deletecollection' : 'delete';
      break;
    default:
      throw methodNotAllowed();
  }
  const attrs: ResolvedPath['attrs'] = { verb, group, resource, collection };
  if (namespace !== undefined) attrs.namespace = namespace;
  if (name !== undefined) attrs.name = name;
  if (subresource !== undefined) attrs.subresource = subresource;
  return { attrs };
}
