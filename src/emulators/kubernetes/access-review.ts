/**
 * `POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews`: may the caller do this? As
 * kube-apiserver v1.32 answers it: any authenticated user may ask (system:basic-user); the spec
 * must hold exactly one of `resourceAttributes` and `nonResourceAttributes` (422 with the real
 * field errors otherwise); the answer is 201 with the review echoed as the typed object would
 * encode it (empty strings and unknown fields dropped, `metadata.creationTimestamp: null`) and
 * `status.allowed` decided by the same rules as every request (`rbac.ts`). Non-resource paths
 * follow system:discovery and system:public-info-viewer (`get` on discovery, version, health).
 * Differences: `status.reason` is left out (the emulator's tokens name no RoleBinding for RBAC's
 * "allowed by RoleBinding …"), and the group is not listed in discovery.
 */
import type { ApiRequest, ApiResult } from './api-types.js';
import { JSON_TYPES, parseBody } from './api-request.js';
import type { JsonObject, JsonValue } from './json.js';
import { isObject, stringAt } from './json.js';
import type { Identity } from './rbac.js';
import { isAllowed } from './rbac.js';
import { badRequest, invalid, methodNotAllowed, unsupportedMediaType } from './status.js';

export const AUTHORIZATION_GROUP = 'authorization.k8s.io';
export const SELF_SUBJECT_ACCESS_REVIEWS = 'selfsubjectaccessreviews';
const KIND = 'SelfSubjectAccessReview';
const API_VERSION = `${AUTHORIZATION_GROUP}/v1`;

const RESOURCE_FIELDS = ['namespace', 'verb', 'group', 'version', 'resource', 'subresource', 'name'];
const SELECTOR_FIELDS = ['fieldSelector', 'labelSelector'];

/** Paths system:discovery and system:public-info-viewer let every authenticated user `get`. */
const OPEN_PATHS = [
  '/api',
  '/api/*',
  '/apis',
  '/apis/*',
  '/healthz',
  '/livez',
  '/readyz',
  '/openapi',
  '/openapi/*',
  '/version',
  '/version/',
];

function pathAllowed(path: string): boolean {
  return OPEN_PATHS.some((p) => (p.endsWith('*') ? path.startsWith(p.slice(0, -1)) : path === p));
}

/** The attributes as Go re-encodes them: known fields only, empty strings omitted. */
function strings(value: JsonObject, fields: string[], struct: string): JsonObject {
  const out: JsonObject = {};
  for (const f of fields) {
    const v = value[f];
    if (v === undefined || v === null || v === '') continue;
    if (typeof v !== 'string') {
      const type = Array.isArray(v) ? 'array' : typeof v === 'boolean' ? 'bool' : typeof v;
      throw badRequest(`json: cannot unmarshal ${type} into Go struct field ${struct}.${f} of type string`);
    }
    out[f] = v;
  }
  return out;
}

/** Go's `%#v` of the internal struct, as `field.Invalid` prints a non-nil pointer. */
function goStruct(type: string, fields: JsonObject): string {
  const parts = Object.entries(fields).map(
    ([k, v]) => `${k.charAt(0).toUpperCase()}${k.slice(1)}:${JSON.stringify(v)}`,
  );
  return `authorization.${type}{${parts.join(', ')}}`;
}

export function isSelfSubjectAccessReview(group: string, resource: string): boolean {
  return group === AUTHORIZATION_GROUP && resource === SELF_SUBJECT_ACCESS_REVIEWS;
}

/** Handles a request to the collection (the only path the resource has). */
export function selfSubjectAccessReview(req: ApiRequest, identity: Identity, verb: string): ApiResult {
  if (verb !== 'create') throw methodNotAllowed();
  if (!JSON_TYPES.includes(req.contentType))
    throw unsupportedMediaType(req.contentType, ['application/json', 'application/yaml']);
  const body: JsonValue = parseBody(req, true);
  if (!isObject(body)) throw badRequest(`Object 'Kind' is missing in '${req.body.slice(0, 200)}'`);
  const kind = stringAt(body, 'kind');
  const apiVersion = stringAt(body, 'apiVersion');
  if (kind !== undefined && kind !== KIND)
    throw badRequest(
      `${kind} in version "${apiVersion ?? ''}" cannot be handled as a ${KIND}: the object provided is unrecognized`,
    );
  if (apiVersion !== undefined && apiVersion !== API_VERSION)
    throw badRequest(
      `the API version in the data (${apiVersion}) does not match the expected API version (${API_VERSION})`,
    );

  const spec = isObject(body['spec']) ? body['spec'] : {};
  const rawResource = spec['resourceAttributes'];
  const rawNonResource = spec['nonResourceAttributes'];
  const resourceAttributes = isObject(rawResource)
    ? strings(rawResource, RESOURCE_FIELDS, 'ResourceAttributes')
    : undefined;
  if (resourceAttributes && isObject(rawResource))
    for (const f of SELECTOR_FIELDS) if (isObject(rawResource[f])) resourceAttributes[f] = rawResource[f];
  const nonResourceAttributes = isObject(rawNonResource)
    ? strings(rawNonResource, ['path', 'verb'], 'NonResourceAttributes')
    : undefined;

  if (resourceAttributes && nonResourceAttributes)
    throw invalid(AUTHORIZATION_GROUP, KIND, '', [
      {
        type: 'FieldValueInvalid',
        field: 'spec.nonResourceAttributes',
        value: goStruct('NonResourceAttributes', nonResourceAttributes),
        detail: 'cannot be specified in combination with resourceAttributes',
      },
    ]);
  if (!resourceAttributes && !nonResourceAttributes)
    throw invalid(AUTHORIZATION_GROUP, KIND, '', [
      {
        type: 'FieldValueInvalid',
        field: 'spec.resourceAttributes',
        value: '"null"',
        detail: 'exactly one of nonResourceAttributes or resourceAttributes must be specified',
      },
    ]);

  let allowed: boolean;
  const outSpec: JsonObject = {};
  if (resourceAttributes) {
    outSpec['resourceAttributes'] = resourceAttributes;
    const attrs = {
      verb: String(resourceAttributes['verb'] ?? ''),
      group: String(resourceAttributes['group'] ?? ''),
      resource: String(resourceAttributes['resource'] ?? ''),
      ...(resourceAttributes['subresource']
        ? { subresource: String(resourceAttributes['subresource']) }
        : {}),
      ...(resourceAttributes['namespace'] ? { namespace: String(resourceAttributes['namespace']) } : {}),
      ...(resourceAttributes['name'] ? { name: String(resourceAttributes['name']) } : {}),
    };
    allowed = isAllowed(identity, attrs);
  } else {
    const attrs = nonResourceAttributes!;
    outSpec['nonResourceAttributes'] = attrs;
    allowed = identity.admin || (attrs['verb'] === 'get' && pathAllowed(String(attrs['path'] ?? '')));
  }
  return {
    kind: 'json',
    status: 201,
    body: {
      kind: KIND,
      apiVersion: API_VERSION,
      metadata: { creationTimestamp: null },
      spec: outSpec,
      status: { allowed },
    },
  };
}
