/**
 * Field ownership as kube-apiserver records it in `metadata.managedFields` (FieldsV1): field
 * sets, the comparison of two objects (added / modified / removed paths, as
 * structured-merge-diff computes them), and the bookkeeping of non-apply ("Update") writes.
 * Server-side apply itself lives in `apply.ts` and builds on this.
 *
 * A path is a list of elements: `f:<field>`, `k:{"key":value,…}` (list item by its map keys),
 * `v:<json>` (member of a set list). A set holds paths as strings joined by NUL.
 */
import type { FieldSchema, ListKind } from './field-schema.js';
import type { JsonObject, JsonValue } from './json.js';
import { deepEqual, isObject, objectAt } from './json.js';

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

// ---------------------------------------------------------------- managedFields entries

export interface ManagerEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  subresource?: string;
  fields: FieldSet;
}

export function sameManager(
  a: Pick<ManagerEntry, 'manager' | 'operation' | 'subresource'>,
  b: Pick<ManagerEntry, 'manager' | 'operation' | 'subresource'>,
): boolean {
  return (
    a.manager === b.manager && a.operation === b.operation && (a.subresource ?? '') === (b.subresource ?? '')
  );
}

/** `"name"` for appliers, `"name" using apps/v1` for updaters, as in the real conflict messages. */
export function describeManager(entry: ManagerEntry): string {
  let s = JSON.stringify(entry.manager);
  if (entry.subresource) s += ` with subresource ${JSON.stringify(entry.subresource)}`;
  if (entry.operation === 'Update') s += ` using ${entry.apiVersion}`;
  return s;
}

/** structured-merge-diff's path string: `.spec.template.spec.containers[name="app"].image`. */
export function describePath(path: FieldPath): string {
  return path
    .map((element) => {
      const body = element.slice(2);
      if (element.startsWith('f:')) return `.${body}`;
      if (element.startsWith('v:')) return `[=${body}]`;
      if (element.startsWith('k:')) {
        const key = JSON.parse(body) as JsonObject;
        return `[${Object.entries(key)
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          .join(',')}]`;
      }
      return `[${body}]`;
    })
    .join('');
}

function elementOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A field set as the FieldsV1 JSON tree (`{"f:spec":{"f:replicas":{}}}`, `".": {}` for a member with children). */
export function toFieldsV1(set: FieldSet): JsonObject {
  interface Node {
    self: boolean;
    children: Map<string, Node>;
  }
  const root: Node = { self: false, children: new Map() };
  for (const key of set) {
    let node = root;
    for (const element of decodePath(key)) {
      let next = node.children.get(element);
      if (!next) {
        next = { self: false, children: new Map() };
        node.children.set(element, next);
      }
      node = next;
    }
    node.self = true;
  }
  const render = (node: Node): JsonObject => {
    const out: JsonObject = {};
    if (node.self && node.children.size > 0) out['.'] = {};
    for (const element of [...node.children.keys()].sort(elementOrder))
      out[element] = render(node.children.get(element) as Node);
    return out;
  };
  return render(root);
}

export function fromFieldsV1(tree: JsonValue | undefined): FieldSet {
  const set: FieldSet = new Set();
  const visit = (node: JsonValue | undefined, path: FieldPath): void => {
    if (!isObject(node)) return;
    const entries = Object.entries(node);
    if (entries.length === 0 && path.length > 0) set.add(encodePath(path));
    for (const [element, childNode] of entries) {
      if (element === '.') set.add(encodePath(path));
      else visit(childNode, [...path, element]);
    }
  };
  visit(tree, []);
  return set;
}

/** Reads `metadata.managedFields`; entries without a manager name are dropped. */
export function decodeManagedFields(obj: JsonObject | undefined): ManagerEntry[] {
  const list = objectAt(obj, 'metadata')?.['managedFields'];
  if (!Array.isArray(list)) return [];
  const entries: ManagerEntry[] = [];
  for (const item of list) {
    if (!isObject(item) || typeof item['manager'] !== 'string' || item['manager'] === '') continue;
    const entry: ManagerEntry = {
      manager: item['manager'],
      operation: item['operation'] === 'Apply' ? 'Apply' : 'Update',
      apiVersion: typeof item['apiVersion'] === 'string' ? item['apiVersion'] : '',
      time: typeof item['time'] === 'string' ? item['time'] : '',
      fields: fromFieldsV1(item['fieldsV1']),
    };
    if (typeof item['subresource'] === 'string' && item['subresource'])
      entry.subresource = item['subresource'];
    entries.push(entry);
  }
  return entries;
}

export function encodeManagedFields(entries: ManagerEntry[]): JsonObject[] {
  return entries
    .filter((e) => e.fields.size > 0)
    .map((e) => {
      const out: JsonObject = {
        manager: e.manager,
        operation: e.operation,
        apiVersion: e.apiVersion,
        time: e.time,
        fieldsType: 'FieldsV1',
        fieldsV1: toFieldsV1(e.fields),
      };
      if (e.subresource) out['subresource'] = e.subresource;
      return out;
    });
}

export function difference(a: FieldSet, b: FieldSet): FieldSet {
  const out: FieldSet = new Set();
  for (const x of a) if (!b.has(x)) out.add(x);
  return out;
}

export function sameSet(a: FieldSet, b: FieldSet): boolean {
  return a.size === b.size && [...a].every((x) => b.has(x));
}

export interface UpdateTracking {
  /** Managers recorded on the object before the write (or those the client sent, when it sent some). */
  managers: ManagerEntry[];
  /** Tracked part of the object before the write (a kind's empty skeleton on create). */
  before: JsonObject;
  /** Tracked part after the write (defaults included, as the real server sees it). */
  after: JsonObject;
  manager: string;
  apiVersion: string;
  subresource?: string;
  now: string;
  schema: FieldSchema;
}

/** Ownership after a non-apply write: the writer takes every changed field from everybody else. */
export function trackUpdate(t: UpdateTracking): ManagerEntry[] {
  const cmp = compare(t.before, t.after, t.schema);
  const taken = new Set([...cmp.added, ...cmp.modified]);
  const me = { manager: t.manager, operation: 'Update' as const, subresource: t.subresource };
  const entries: ManagerEntry[] = [];
  let mine: ManagerEntry | undefined;
  for (const entry of t.managers) {
    if (sameManager(entry, me)) {
      mine = entry;
      entries.push(entry);
      continue;
    }
    const fields = difference(difference(entry.fields, taken), cmp.removed);
    entries.push({ ...entry, fields });
  }
  const previous = mine?.fields ?? new Set<string>();
  const fields = new Set([...difference(previous, cmp.removed), ...taken]);
  if (mine) {
    if (!sameSet(previous, fields)) {
      mine.fields = fields;
      mine.time = t.now;
      mine.apiVersion = t.apiVersion;
    }
  } else if (fields.size > 0) {
    const entry: ManagerEntry = {
      manager: t.manager,
      operation: 'Update',
      apiVersion: t.apiVersion,
      time: t.now,
      fields,
    };
    if (t.subresource) entry.subresource = t.subresource;
    entries.push(entry);
  }
  return entries.filter((e) => e.fields.size > 0);
}
