/**
 * Field sets computed from objects, as structured-merge-diff does: the set an applied
 * configuration owns (`toFieldSet`) and the added / modified / removed paths between two
 * tracked objects (`compare`), following the schema's list kinds (map, set, atomic).
 */
import type { FieldSchema } from './field-schema.js';
import type { JsonObject, JsonValue } from './json.js';
import { deepEqual, isObject } from './json.js';
import {
  encodePath,
  itemKeyElement,
  valueElement,
  type FieldPath,
  type FieldSet,
} from './managed-fields-paths.js';

// ---------------------------------------------------------------- field set of an applied configuration

/** The set an applier owns after applying `config` (structured-merge-diff's `ToFieldSet`). */
export function toFieldSet(config: JsonObject, schema: FieldSchema): FieldSet {
  const set: FieldSet = new Set();
  walkObject(config, [], [], schema, set);
  return set;
}

function walkValue(
  value: JsonValue,
  schemaPath: string[],
  fsPath: FieldPath,
  schema: FieldSchema,
  set: FieldSet,
): void {
  if (isObject(value)) {
    if (schema.atomicObject(schemaPath) || Object.keys(value).length === 0) set.add(encodePath(fsPath));
    else walkObject(value, schemaPath, fsPath, schema, set);
  } else if (Array.isArray(value)) {
    const kind = schema.list(schemaPath);
    if (kind.type === 'atomic') set.add(encodePath(fsPath));
    else if (kind.type === 'set')
      for (const item of value) set.add(encodePath([...fsPath, valueElement(item)]));
    else {
      for (const item of value) {
        const element = itemKeyElement(item, kind);
        if (!element) continue;
        const itemPath = [...fsPath, element];
        set.add(encodePath(itemPath));
        if (isObject(item)) walkObject(item, [...schemaPath, '[]'], itemPath, schema, set);
      }
    }
  } else {
    set.add(encodePath(fsPath));
  }
}

function walkObject(
  obj: JsonObject,
  schemaPath: string[],
  fsPath: FieldPath,
  schema: FieldSchema,
  set: FieldSet,
): void {
  for (const [key, value] of Object.entries(obj)) {
    // `metadata` left empty once name/namespace are stripped is not an applied field.
    if (fsPath.length === 0 && key === 'metadata' && isObject(value) && Object.keys(value).length === 0)
      continue;
    walkValue(value, [...schemaPath, key], [...fsPath, `f:${key}`], schema, set);
  }
}

// ---------------------------------------------------------------- comparison

export interface Comparison {
  added: FieldSet;
  modified: FieldSet;
  removed: FieldSet;
}

/** Paths added, modified and removed going from `before` to `after` (both already `trackedPart`). */
export function compare(before: JsonObject, after: JsonObject, schema: FieldSchema): Comparison {
  const result: Comparison = { added: new Set(), modified: new Set(), removed: new Set() };
  compareObjects(before, after, [], [], schema, result);
  return result;
}

function compareObjects(
  a: JsonObject,
  b: JsonObject,
  schemaPath: string[],
  fsPath: FieldPath,
  schema: FieldSchema,
  out: Comparison,
): void {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys)
    compareValues(a[key], b[key], [...schemaPath, key], [...fsPath, `f:${key}`], schema, out);
}

function compareValues(
  a: JsonValue | undefined,
  b: JsonValue | undefined,
  schemaPath: string[],
  fsPath: FieldPath,
  schema: FieldSchema,
  out: Comparison,
): void {
  if (a === undefined && b === undefined) return;
  if (a === undefined) return addAll(b as JsonValue, schemaPath, fsPath, schema, out.added);
  if (b === undefined) return addAll(a, schemaPath, fsPath, schema, out.removed);
  if (isObject(a) && isObject(b) && !schema.atomicObject(schemaPath))
    return compareObjects(a, b, schemaPath, fsPath, schema, out);
  if (Array.isArray(a) && Array.isArray(b)) {
    const kind = schema.list(schemaPath);
    if (kind.type === 'set') {
      for (const item of b)
        if (!a.some((x) => deepEqual(x, item))) out.added.add(encodePath([...fsPath, valueElement(item)]));
      for (const item of a)
        if (!b.some((x) => deepEqual(x, item))) out.removed.add(encodePath([...fsPath, valueElement(item)]));
      return;
    }
    if (kind.type === 'map') {
      const index = (list: JsonValue[]): Map<string, JsonValue> => {
        const m = new Map<string, JsonValue>();
        for (const item of list) {
          const element = itemKeyElement(item, kind);
          if (element) m.set(element, item);
        }
        return m;
      };
      const ia = index(a);
      const ib = index(b);
      const itemSchema = [...schemaPath, '[]'];
      for (const [element, item] of ib) {
        const before = ia.get(element);
        if (before === undefined) addAll(item, itemSchema, [...fsPath, element], schema, out.added);
        else if (isObject(before) && isObject(item))
          compareObjects(before, item, itemSchema, [...fsPath, element], schema, out);
        else if (!deepEqual(before, item)) out.modified.add(encodePath([...fsPath, element]));
      }
      for (const [element, item] of ia)
        if (!ib.has(element)) addAll(item, itemSchema, [...fsPath, element], schema, out.removed);
      return;
    }
  }
  if (!deepEqual(a, b)) out.modified.add(encodePath(fsPath));
}

/** Adds `fsPath` itself and every path below it (a whole added or removed subtree). */
function addAll(
  value: JsonValue,
  schemaPath: string[],
  fsPath: FieldPath,
  schema: FieldSchema,
  into: FieldSet,
): void {
  // A keyed or set list is never a member itself, only its items are (as in structured-merge-diff).
  if (!Array.isArray(value) || schema.list(schemaPath).type === 'atomic') into.add(encodePath(fsPath));
  if (isObject(value) && !schema.atomicObject(schemaPath)) {
    for (const [key, v] of Object.entries(value))
      addAll(v, [...schemaPath, key], [...fsPath, `f:${key}`], schema, into);
  } else if (Array.isArray(value)) {
    const kind = schema.list(schemaPath);
    if (kind.type === 'set') for (const item of value) into.add(encodePath([...fsPath, valueElement(item)]));
    else if (kind.type === 'map') {
      for (const item of value) {
        const element = itemKeyElement(item, kind);
        if (element) addAll(item, [...schemaPath, '[]'], [...fsPath, element], schema, into);
      }
    }
  }
}
