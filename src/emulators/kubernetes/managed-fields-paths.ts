/**
 * Field paths and sets of `metadata.managedFields` bookkeeping: the path encoding (elements
 * joined by NUL), the `k:{…}` and `v:<json>` elements of list items, and the tracked part of an
 * object (no identity metadata, no subresource `status`).
 */
import type { ListKind } from './field-schema.js';
import type { JsonObject, JsonValue } from './json.js';
import { isObject } from './json.js';

export type FieldPath = string[];
export type FieldSet = Set<string>;

const SEP = '\u0000';
export const encodePath = (path: FieldPath): string => path.join(SEP);
export const decodePath = (key: string): FieldPath => (key === '' ? [] : key.split(SEP));

/** True when `set` holds `path` or any path below it. */
export function ownsUnder(set: FieldSet, path: FieldPath): boolean {
  const key = encodePath(path);
  if (set.has(key)) return true;
  const prefix = key + SEP;
  for (const member of set) if (member.startsWith(prefix)) return true;
  return false;
}

// ---------------------------------------------------------------- list item keys

/** The `k:{…}` element of a list item: its map-key fields (with schema defaults), sorted by name. */
export function itemKeyElement(item: JsonValue, kind: ListKind & { type: 'map' }): string | undefined {
  if (!isObject(item)) return undefined;
  const key: JsonObject = {};
  for (const name of [...kind.keys].sort()) {
    const value = item[name] ?? kind.keyDefaults?.[name];
    if (value === undefined) continue;
    key[name] = value;
  }
  if (Object.keys(key).length === 0) return undefined;
  return `k:${JSON.stringify(key)}`;
}

export const valueElement = (value: JsonValue): string => `v:${JSON.stringify(value)}`;

// ---------------------------------------------------------------- stripping

const STRIPPED_METADATA = [
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
];

/** The part of an object whose fields are tracked: no identity metadata, no `status` when it is a subresource. */
export function trackedPart(obj: JsonObject, statusIsSubresource: boolean): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(obj)) {
    if (key === 'apiVersion' || key === 'kind') continue;
    if (key === 'status' && statusIsSubresource) continue;
    if (key === 'metadata' && isObject(value)) {
      const meta: JsonObject = {};
      for (const [mk, mv] of Object.entries(value)) if (!STRIPPED_METADATA.includes(mk)) meta[mk] = mv;
      out['metadata'] = meta;
      continue;
    }
    out[key] = value;
  }
  return out;
}
