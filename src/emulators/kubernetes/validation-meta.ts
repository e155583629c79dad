/**
 * Field errors and object metadata validation with the real server's messages: Go-style value
 * rendering for `Invalid value:` details, the `FieldError` constructors the per-kind rules
 * share, label and annotation maps, and `metadata.name` under a kind's naming rule.
 */
import type { JsonObject, JsonValue } from './json.js';
import { isObject, objectAt, stringAt } from './json.js';
import type { FieldError } from './status.js';
import {
  isDNS1035Label,
  isDNS1123Label,
  isDNS1123Subdomain,
  isQualifiedName,
  labelValueErrors,
} from './validation-names.js';

/** Renders a value the way Go's `%#v`/`%q` would in an `Invalid value:` message. */
export function goValue(value: JsonValue | undefined): string {
  if (value === undefined || value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v === 'string'))
      return `[]string{${value.map((v) => JSON.stringify(v)).join(', ')}}`;
    return `[]interface {}{${value.map(goValue).join(', ')}}`;
  }
  const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.every(([, v]) => typeof v === 'string')) {
    return `map[string]string{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(', ')}}`;
  }
  return `map[string]interface {}{${entries.map(([k, v]) => `${JSON.stringify(k)}:${goValue(v)}`).join(', ')}}`;
}

export const invalidValue = (field: string, value: JsonValue | undefined, detail: string): FieldError => ({
  type: 'FieldValueInvalid',
  field,
  value: goValue(value),
  detail,
});
export const required = (field: string, detail?: string): FieldError =>
  detail ? { type: 'FieldValueRequired', field, detail } : { type: 'FieldValueRequired', field };
export const notSupported = (
  field: string,
  value: JsonValue | undefined,
  supported: string[],
): FieldError => ({
  type: 'FieldValueNotSupported',
  field,
  value: goValue(value),
  detail: `supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}`,
});
export const duplicate = (field: string, value: JsonValue | undefined): FieldError => ({
  type: 'FieldValueDuplicate',
  field,
  value: goValue(value),
});
export const forbiddenField = (field: string, detail: string): FieldError => ({
  type: 'FieldValueForbidden',
  field,
  detail,
});

export function validateLabels(labels: JsonValue | undefined, field: string): FieldError[] {
  const errs: FieldError[] = [];
  if (labels === undefined || labels === null) return errs;
  if (!isObject(labels)) return [invalidValue(field, labels, 'must be a map of strings')];
  for (const key of Object.keys(labels).sort()) {
    for (const msg of isQualifiedName(key)) errs.push(invalidValue(field, key, msg));
    const value = labels[key];
    if (typeof value !== 'string') {
      errs.push(invalidValue(field, value, 'must be a string'));
      continue;
    }
    for (const msg of labelValueErrors(value)) errs.push(invalidValue(field, value, msg));
  }
  return errs;
}

function validateAnnotations(annotations: JsonValue | undefined, field: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!isObject(annotations)) return errs;
  let total = 0;
  for (const [key, value] of Object.entries(annotations)) {
    for (const msg of isQualifiedName(key.toLowerCase())) errs.push(invalidValue(field, key, msg));
    total += key.length + (typeof value === 'string' ? value.length : 0);
  }
  if (total > 256 * 1024)
    errs.push({ type: 'FieldValueTooLong', field, detail: `must have at most ${256 * 1024} bytes` });
  return errs;
}

/** `path-segment`: RBAC objects' names (`path.IsValidPathSegmentName`). */
export type NameRule = 'dns1123-subdomain' | 'dns1035-label' | 'dns1123-label' | 'path-segment';

/** `path.IsValidPathSegmentName`. */
export function pathSegmentErrors(name: string): string[] {
  if (name === '.' || name === '..') return [`may not be '${name}'`];
  return ['/', '%'].filter((c) => name.includes(c)).map((c) => `may not contain '${c}'`);
}

export function nameErrors(name: string, rule: NameRule): string[] {
  switch (rule) {
    case 'dns1123-subdomain':
      return isDNS1123Subdomain(name);
    case 'dns1035-label':
      return isDNS1035Label(name);
    case 'dns1123-label':
      return isDNS1123Label(name);
    case 'path-segment':
      return pathSegmentErrors(name);
  }
}

export function validateObjectMeta(obj: JsonObject, rule: NameRule): FieldError[] {
  const meta = objectAt(obj, 'metadata') ?? {};
  const errs: FieldError[] = [];
  const name = stringAt(meta, 'name') ?? '';
  if (!name) errs.push(required('metadata.name', 'name or generateName is required'));
  else for (const msg of nameErrors(name, rule)) errs.push(invalidValue('metadata.name', name, msg));
  errs.push(...validateLabels(meta['labels'], 'metadata.labels'));
  errs.push(...validateAnnotations(meta['annotations'], 'metadata.annotations'));
  return errs;
}
