/**
 * `metadata.managedFields` entries: manager identity and the descriptions used in conflict
 * messages, the FieldsV1 JSON encoding of a field set and back, reading and writing the
 * entries of an object, set arithmetic, and the ownership bookkeeping of non-apply ("Update")
 * writes.
 */
import type { FieldSchema } from './field-schema.js';
import type { JsonObject, JsonValue } from './json.js';
import { isObject, objectAt } from './json.js';
import { compare } from './managed-fields-compare.js';
import { decodePath, encodePath, type FieldPath, type FieldSet } from './managed-fields-paths.js';

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
