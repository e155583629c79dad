/**
 * Just enough OpenAPI v3 for kubectl: `/openapi/v3` lists the group-versions, and each
 * group-version document declares, per resource, the operations with their
 * `x-kubernetes-group-version-kind` and query parameters. kubectl reads it to learn that the
 * server supports `fieldValidation` (so it validates server-side instead of downloading
 * schemas). There are no component schemas: `kubectl explain` and client-side schema
 * validation are not supported. `/openapi/v2` is not served (404).
 */
import type { JsonObject } from './json.js';
import type { ResourceType } from './resources.js';
import { RESOURCE_TYPES } from './resources.js';

const HASH = 'E3D2C1B0A9F8E7D6C5B4A3F2E1D0C9B8A7F6E5D4C3B2A1F0E9D8C7B6A5F4E3D2';

function gvPath(group: string): string {
  return group ? `apis/${group}/v1` : 'api/v1';
}

export function openApiRoot(): JsonObject {
  const paths: JsonObject = {};
  for (const group of new Set(RESOURCE_TYPES.map((r) => r.group))) {
    paths[gvPath(group)] = { serverRelativeURL: `/openapi/v3/${gvPath(group)}?hash=${HASH}` };
  }
  return { paths };
}

const param = (name: string, description: string): JsonObject => ({
  name,
  in: 'query',
  description,
  schema: { type: 'string', uniqueItems: true },
});

const WRITE_PARAMS = [
  param('dryRun', 'When present, indicates that modifications should not be persisted.'),
  param(
    'fieldManager',
    'fieldManager is a name associated with the actor or entity that is making these changes.',
  ),
  param(
    'fieldValidation',
    'fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields.',
  ),
];

function operations(rt: ResourceType): Record<string, JsonObject> {
  const gvk = { group: rt.group, version: rt.version, kind: rt.kind };
  const op = (action: string, extra: JsonObject = {}): JsonObject => ({
    operationId: `${action}${rt.kind}`,
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': gvk,
    responses: { '200': { description: 'OK' } },
    ...extra,
  });
  const prefix = `/${gvPath(rt.group)}${rt.namespaced ? '/namespaces/{namespace}' : ''}/${rt.plural}`;
  const item: JsonObject = { get: op('get') };
  const collection: JsonObject = {
    get: op('list', { parameters: [param('labelSelector', ''), param('fieldSelector', '')] }),
  };
  if (rt.verbs.includes('create')) collection['post'] = op('post', { parameters: WRITE_PARAMS });
  if (rt.verbs.includes('deletecollection')) collection['delete'] = op('deletecollection');
  if (rt.verbs.includes('update')) item['put'] = op('put', { parameters: WRITE_PARAMS });
  if (rt.verbs.includes('delete')) item['delete'] = op('delete');
  if (rt.verbs.includes('patch')) {
    item['patch'] = op('patch', {
      parameters: [...WRITE_PARAMS, param('force', 'Force is going to "force" Apply requests.')],
      requestBody: {
        content: Object.fromEntries(
          [
            'application/apply-patch+yaml',
            'application/json-patch+json',
            'application/merge-patch+json',
            'application/strategic-merge-patch+json',
          ].map((t) => [t, { schema: { type: 'object' } }]),
        ),
        required: true,
      },
    });
  }
  return { [prefix]: collection, [`${prefix}/{name}`]: item };
}

/** The document for `/openapi/v3/api/v1` or `/openapi/v3/apis/<group>/v1`, or undefined. */
export function openApiGroupVersion(path: string): JsonObject | undefined {
  const resources = RESOURCE_TYPES.filter((r) => gvPath(r.group) === path);
  if (resources.length === 0) return undefined;
  const paths: JsonObject = {};
  for (const rt of resources) Object.assign(paths, operations(rt));
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.32.0' },
    paths,
    components: {},
  };
}
