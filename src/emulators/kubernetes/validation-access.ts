/**
 * Per-kind rules for ServiceAccounts, Roles and RoleBindings (pkg/apis/rbac/validation,
 * pkg/apis/core/validation) with the real messages. Verbs are not checked against a list: the
 * real server accepts any string, only an empty list is refused.
 */
import type { JsonObject, JsonValue } from './json.js';
import { arrayAt, deepEqual, isObject, objectAt, stringAt } from './json.js';
import type { FieldError } from './status.js';
import {
  invalidValue,
  notSupported,
  pathSegmentErrors,
  required,
  validateObjectMeta,
} from './validation-meta.js';
import { isDNS1123Subdomain } from './validation-names.js';

const RBAC_GROUP = 'rbac.authorization.k8s.io';

export function validateServiceAccount(obj: JsonObject): FieldError[] {
  return validateObjectMeta(obj, 'dns1123-subdomain');
}

const count = (v: JsonValue | undefined): number => (Array.isArray(v) ? v.length : 0);

/** `ValidatePolicyRule` for a namespaced Role. */
function validateRule(rule: JsonObject, field: string): FieldError[] {
  const errs: FieldError[] = [];
  if (count(rule['verbs']) === 0)
    errs.push(required(`${field}.verbs`, 'verbs must contain at least one value'));
  if (count(rule['nonResourceURLs']) > 0) {
    errs.push(
      invalidValue(
        `${field}.nonResourceURLs`,
        rule['nonResourceURLs'],
        'namespaced rules cannot apply to non-resource URLs',
      ),
    );
    if (count(rule['apiGroups']) + count(rule['resources']) + count(rule['resourceNames']) > 0)
      errs.push(
        invalidValue(
          `${field}.nonResourceURLs`,
          rule['nonResourceURLs'],
          'rules cannot apply to both regular resources and non-resource URLs',
        ),
      );
    return errs;
  }
  if (count(rule['apiGroups']) === 0)
    errs.push(required(`${field}.apiGroups`, 'resource rules must supply at least one api group'));
  if (count(rule['resources']) === 0)
    errs.push(required(`${field}.resources`, 'resource rules must supply at least one resource'));
  return errs;
}

export function validateRole(obj: JsonObject): FieldError[] {
  const errs = validateObjectMeta(obj, 'path-segment');
  (arrayAt(obj, 'rules') ?? []).forEach((rule, i) => {
    if (isObject(rule)) errs.push(...validateRule(rule, `rules[${i}]`));
  });
  return errs;
}

/** Go's `%#v` of an `rbac.RoleRef`, as the immutability error prints it. */
function goRoleRef(ref: JsonObject | undefined): string {
  const f = (k: string) => JSON.stringify(stringAt(ref, k) ?? '');
  return `rbac.RoleRef{APIGroup:${f('apiGroup')}, Kind:${f('kind')}, Name:${f('name')}}`;
}

function validateSubject(s: JsonObject, field: string): FieldError[] {
  const errs: FieldError[] = [];
  const name = stringAt(s, 'name') ?? '';
  const apiGroup = stringAt(s, 'apiGroup') ?? '';
  const kind = stringAt(s, 'kind') ?? '';
  if (!name) errs.push(required(`${field}.name`));
  switch (kind) {
    case 'ServiceAccount':
      if (name)
        for (const msg of isDNS1123Subdomain(name)) errs.push(invalidValue(`${field}.name`, name, msg));
      if (apiGroup) errs.push(notSupported(`${field}.apiGroup`, apiGroup, ['']));
      break;
    case 'User':
    case 'Group':
      if (apiGroup !== RBAC_GROUP) errs.push(notSupported(`${field}.apiGroup`, apiGroup, [RBAC_GROUP]));
      break;
    default:
      errs.push(notSupported(`${field}.kind`, kind, ['ServiceAccount', 'User', 'Group']));
  }
  return errs;
}

export function validateRoleBinding(obj: JsonObject, old: JsonObject | undefined): FieldError[] {
  const errs = validateObjectMeta(obj, 'path-segment');
  const ref = objectAt(obj, 'roleRef');
  const apiGroup = stringAt(ref, 'apiGroup') ?? '';
  if (apiGroup !== RBAC_GROUP) errs.push(notSupported('roleRef.apiGroup', apiGroup, [RBAC_GROUP]));
  const kind = stringAt(ref, 'kind') ?? '';
  if (kind !== 'Role' && kind !== 'ClusterRole')
    errs.push(notSupported('roleRef.kind', kind, ['Role', 'ClusterRole']));
  const name = stringAt(ref, 'name') ?? '';
  if (!name) errs.push(required('roleRef.name'));
  else for (const msg of pathSegmentErrors(name)) errs.push(invalidValue('roleRef.name', name, msg));
  (arrayAt(obj, 'subjects') ?? []).forEach((s, i) => {
    if (isObject(s)) errs.push(...validateSubject(s, `subjects[${i}]`));
  });
  const oldRef = objectAt(old, 'roleRef');
  if (old && !deepEqual(oldRef, ref))
    errs.push({
      type: 'FieldValueInvalid',
      field: 'roleRef',
      value: goRoleRef(ref),
      detail: 'cannot change roleRef',
    });
  return errs;
}
