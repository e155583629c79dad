/**
 * Request-level checks shared by the verbs: body decoding (JSON, or YAML where allowed),
 * type-meta / name / namespace agreement between body and URL, the accepted content types,
 * `fieldManager` (explicit, or derived from the User-Agent like the real server), `dryRun`,
 * `generateName` suffixes, and the RBAC check that turns a denial into a Forbidden Status.
 */
import { parse as parseYaml } from 'yaml';
import type { ApiRequest } from './api-types.js';
import type { JsonObject, JsonValue } from './json.js';
import { isObject, objectAt, stringAt } from './json.js';
import type { Identity, RequestAttributes } from './rbac.js';
import { forbiddenReason, isAllowed } from './rbac.js';
import type { ResourceType } from './resources.js';
import { badRequest, forbidden, invalid, unsupportedMediaType } from './status.js';

export const JSON_TYPES = ['application/json', 'application/yaml', ''];
export const PATCH_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/apply-patch+yaml',
  'application/strategic-merge-patch+json',
];
export const GENERATE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export function generateSuffix(): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += GENERATE_ALPHABET[Math.floor(Math.random() * GENERATE_ALPHABET.length)];
  return s;
}

export function parseBody(req: ApiRequest, yamlAllowed: boolean): JsonValue {
  if (req.body.trim() === '') throw badRequest("Object 'Kind' is missing in ''");
  try {
    if (
      yamlAllowed &&
      (req.contentType === 'application/yaml' || req.contentType === 'application/apply-patch+yaml')
    )
      return parseYaml(req.body) as JsonValue;
    return JSON.parse(req.body) as JsonValue;
  } catch (e) {
    throw badRequest(`error decoding ${yamlAllowed ? 'YAML' : 'JSON'}: ${(e as Error).message}`);
  }
}

export function parseObjectBody(req: ApiRequest, rt: ResourceType): JsonObject {
  if (!JSON_TYPES.includes(req.contentType))
    throw unsupportedMediaType(req.contentType, ['application/json', 'application/yaml']);
  const body = parseBody(req, true);
  if (!isObject(body)) throw badRequest(`Object 'Kind' is missing in '${req.body.slice(0, 200)}'`);
  checkTypeMeta(rt, body);
  return body;
}

export function checkTypeMeta(rt: ResourceType, body: JsonObject): void {
  const kind = stringAt(body, 'kind');
  const apiVersion = stringAt(body, 'apiVersion');
  if (kind !== undefined && kind !== rt.kind) {
    throw badRequest(
      `${kind} in version "${apiVersion ?? ''}" cannot be handled as a ${rt.kind}: the object provided is unrecognized`,
    );
  }
  if (apiVersion !== undefined && apiVersion !== rt.apiVersion) {
    throw badRequest(
      `the API version in the data (${apiVersion}) does not match the expected API version (${rt.apiVersion})`,
    );
  }
}

export function checkNamespaceOfBody(body: JsonObject, namespace: string): void {
  const ns = stringAt(objectAt(body, 'metadata'), 'namespace');
  if (ns && ns !== namespace)
    throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
}

export function checkNameOfBody(body: JsonObject, name: string): void {
  const bodyName = stringAt(objectAt(body, 'metadata'), 'name');
  if (bodyName !== undefined && bodyName !== name) {
    throw badRequest(`the name of the object (${bodyName}) does not match the name on the URL (${name})`);
  }
}

export function fieldManagerOf(req: ApiRequest, fallbackToAgent: boolean): string {
  const explicit = req.query.get('fieldManager') ?? '';
  if (explicit.length > 128) {
    throw invalid('meta.k8s.io', 'PatchOptions', '', [
      {
        type: 'FieldValueTooLong',
        field: 'fieldManager',
        value: JSON.stringify(explicit),
        detail: 'may not be longer than 128 characters',
      },
    ]);
  }
  if (explicit || !fallbackToAgent) return explicit;
  let out = '';
  for (const ch of req.userAgent.split('/')[0] ?? '') {
    if (ch < ' ' || out.length + ch.length > 128) continue;
    out += ch;
  }
  return out;
}

export const isDryRun = (req: ApiRequest): boolean => req.query.getAll('dryRun').some((v) => v !== '');

export function authorize(identity: Identity, attrs: RequestAttributes): void {
  if (!isAllowed(identity, attrs))
    throw forbidden(
      { group: attrs.group, resource: attrs.resource },
      attrs.name,
      forbiddenReason(identity.user, attrs),
    );
}
