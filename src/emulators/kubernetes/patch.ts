/**
 * The three non-apply patch formats: JSON patch (RFC 6902), JSON merge patch (RFC 7386) and
 * Kubernetes' strategic merge patch (keyed list merge from `field-schema.ts`, plus the
 * `$patch`, `$retainKeys`, `$setElementOrder/…` and `$deleteFromPrimitiveList/…` directives
 * that `kubectl apply` sends). Errors are plain `PatchError`s; the API layer maps them.
 */
import type { FieldSchema, ListKind } from './field-schema.js';
import type { JsonObject, JsonValue } from './json.js';
import { clone, deepEqual, isObject } from './json.js';

export class PatchError extends Error {
  /** 400 for a malformed patch document, 422 when a well-formed patch cannot be applied. */
  readonly code: 400 | 422;
  constructor(message: string, code: 400 | 422) {
    super(message);
    this.name = 'PatchError';
    this.code = code;
  }
}

// ---------------------------------------------------------------- JSON patch (RFC 6902)

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchError(`invalid JSON pointer: ${JSON.stringify(pointer)}`, 400);
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

type Container = JsonObject | JsonValue[];

function resolveParent(
  doc: JsonValue,
  tokens: string[],
  pointer: string,
): { parent: Container; key: string } {
  let node: JsonValue | undefined = doc;
  for (const token of tokens.slice(0, -1)) {
    node = Array.isArray(node)
      ? node[arrayIndex(token, node.length - 1, pointer)]
      : isObject(node)
        ? node[token]
        : undefined;
    if (node === undefined)
      throw new PatchError(`doc is missing path: ${JSON.stringify(pointer)}: missing value`, 422);
  }
  if (!Array.isArray(node) && !isObject(node))
    throw new PatchError(`doc is missing path: ${JSON.stringify(pointer)}: missing value`, 422);
  return { parent: node, key: tokens[tokens.length - 1] ?? '' };
}

function arrayIndex(token: string, max: number, pointer: string): number {
  if (!/^(0|[1-9]\d*)$/.test(token))
    throw new PatchError(`invalid array index in ${JSON.stringify(pointer)}`, 422);
  const i = Number(token);
  if (i > max) throw new PatchError(`index out of bounds in ${JSON.stringify(pointer)}`, 422);
  return i;
}

function getAt(doc: JsonValue, pointer: string): JsonValue {
  let node: JsonValue | undefined = doc;
  for (const token of parsePointer(pointer)) {
    node = Array.isArray(node)
      ? node[arrayIndex(token, node.length - 1, pointer)]
      : isObject(node)
        ? node[token]
        : undefined;
    if (node === undefined)
      throw new PatchError(`doc is missing path: ${JSON.stringify(pointer)}: missing value`, 422);
  }
  return node;
}

function addAt(doc: JsonValue, pointer: string, value: JsonValue): JsonValue {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return value;
  const { parent, key } = resolveParent(doc, tokens, pointer);
  if (Array.isArray(parent)) {
    const i = key === '-' ? parent.length : arrayIndex(key, parent.length, pointer);
    parent.splice(i, 0, value);
  } else parent[key] = value;
  return doc;
}

function removeAt(doc: JsonValue, pointer: string): { doc: JsonValue; removed: JsonValue } {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) throw new PatchError('unable to remove the document root', 422);
  const { parent, key } = resolveParent(doc, tokens, pointer);
  if (Array.isArray(parent)) {
    const i = arrayIndex(key, parent.length - 1, pointer);
    const [removed] = parent.splice(i, 1);
    return { doc, removed: removed ?? null };
  }
  if (!(key in parent)) throw new PatchError(`unable to remove nonexistent key: ${key}: missing value`, 422);
  const removed = parent[key] ?? null;
  delete parent[key];
  return { doc, removed };
}

export function applyJsonPatch(document: JsonValue, patch: JsonValue): JsonValue {
  if (!Array.isArray(patch))
    throw new PatchError('json: cannot unmarshal object into Go value of type jsonpatch.Patch', 400);
  let doc = clone(document);
  for (const op of patch) {
    if (!isObject(op))
      throw new PatchError('json: cannot unmarshal into Go value of type jsonpatch.Operation', 400);
    const path = typeof op['path'] === 'string' ? op['path'] : undefined;
    if (path === undefined) throw new PatchError(`missing path in operation ${JSON.stringify(op)}`, 422);
    switch (op['op']) {
      case 'add':
        doc = addAt(doc, path, clone(op['value'] ?? null));
        break;
      case 'remove':
        doc = removeAt(doc, path).doc;
        break;
      case 'replace': {
        getAt(doc, path);
        const tokens = parsePointer(path);
        if (tokens.length === 0) doc = clone(op['value'] ?? null);
        else {
          const { parent, key } = resolveParent(doc, tokens, path);
          if (Array.isArray(parent))
            parent[arrayIndex(key, parent.length - 1, path)] = clone(op['value'] ?? null);
          else parent[key] = clone(op['value'] ?? null);
        }
        break;
      }
      case 'move': {
        const from = typeof op['from'] === 'string' ? op['from'] : '';
        const { doc: d, removed } = removeAt(doc, from);
        doc = addAt(d, path, removed);
        break;
      }
      case 'copy': {
        const from = typeof op['from'] === 'string' ? op['from'] : '';
        doc = addAt(doc, path, clone(getAt(doc, from)));
        break;
      }
      case 'test': {
        let actual: JsonValue | undefined;
        try {
          actual = getAt(doc, path);
        } catch {
          actual = undefined;
        }
        if (!deepEqual(actual, op['value'] ?? null))
          throw new PatchError(`testing value ${path} failed: test failed`, 422);
        break;
      }
      default:
        throw new PatchError(`Unexpected kind: ${String(op['op'])}`, 422);
    }
  }
  return doc;
}

// ---------------------------------------------------------------- JSON merge patch (RFC 7386)

export function applyMergePatch(target: JsonValue | undefined, patch: JsonValue): JsonValue {
  if (!isObject(patch)) return clone(patch);
  const result: JsonObject = isObject(target) ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
}

// ---------------------------------------------------------------- strategic merge patch

const SET_ORDER = '$setElementOrder/';
const DELETE_FROM_PRIMITIVE = '$deleteFromPrimitiveList/';

/** Removes `$…` directives from a value copied verbatim from a patch. */
function stripDirectives(value: JsonValue): JsonValue {
  if (Array.isArray(value))
    return value
      .filter((v) => !(isObject(v) && v['$patch'] !== undefined && Object.keys(v).length === 1))
      .map(stripDirectives);
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) if (!k.startsWith('$')) out[k] = stripDirectives(v);
  return out;
}

export function applyStrategicMergePatch(
  original: JsonObject,
  patch: JsonValue,
  schema: FieldSchema,
): JsonObject {
  if (!isObject(patch)) throw new PatchError('strategic merge patch must be a JSON object', 400);
  return mergeObject(original, patch, schema, []) ?? {};
}

function mergeObject(
  original: JsonObject | undefined,
  patch: JsonObject,
  schema: FieldSchema,
  path: string[],
): JsonObject | undefined {
  const directive = patch['$patch'];
  if (directive === 'delete') return undefined;
  if (directive === 'replace') return stripDirectives(patch) as JsonObject;
  if (directive !== undefined && directive !== 'merge')
    throw new PatchError(`Unknown patch type: ${String(directive)}`, 422);
  if (schema.atomicObject(path)) return stripDirectives(patch) as JsonObject;

  const result: JsonObject = original ? clone(original) : {};
  const orders: [string, JsonValue][] = [];
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch' || key === '$retainKeys') continue;
    if (key.startsWith(SET_ORDER)) {
      orders.push([key.slice(SET_ORDER.length), value]);
      continue;
    }
    if (key.startsWith(DELETE_FROM_PRIMITIVE)) {
      const field = key.slice(DELETE_FROM_PRIMITIVE.length);
      const current = result[field];
      if (Array.isArray(current) && Array.isArray(value))
        result[field] = current.filter((item) => !value.some((v) => deepEqual(v, item)));
      continue;
    }
    if (value === null) {
      delete result[key];
      continue;
    }
    const childPath = [...path, key];
    if (Array.isArray(value)) {
      const merged = mergeList(result[key], value, schema.list(childPath), schema, childPath);
      if (merged === undefined) delete result[key];
      else result[key] = merged;
    } else if (isObject(value)) {
      const current = result[key];
      const merged = mergeObject(isObject(current) ? current : undefined, value, schema, childPath);
      if (merged === undefined) delete result[key];
      else result[key] = merged;
    } else {
      result[key] = value;
    }
  }
  const retain = patch['$retainKeys'];
  if (Array.isArray(retain)) {
    for (const key of Object.keys(result)) if (!retain.includes(key)) delete result[key];
  }
  for (const [field, order] of orders) {
    const list = result[field];
    if (Array.isArray(list) && Array.isArray(order))
      result[field] = applyOrder(list, order, schema.list([...path, field]));
  }
  return result;
}

function mergeList(
  original: JsonValue | undefined,
  patch: JsonValue[],
  kind: ListKind,
  schema: FieldSchema,
  path: string[],
): JsonValue[] | undefined {
  const replaceMarker = patch.some(
    (p) => isObject(p) && p['$patch'] === 'replace' && Object.keys(p).length === 1,
  );
  const current = Array.isArray(original) ? original : [];
  if (replaceMarker || kind.type === 'atomic') return stripDirectives(patch) as JsonValue[];
  if (kind.type === 'set') {
    const result = clone(current);
    for (const item of patch) if (!result.some((r) => deepEqual(r, item))) result.push(clone(item));
    return result;
  }
  const key = kind.smpKey;
  const result = clone(current);
  const itemPath = [...path, '[]'];
  for (const item of patch) {
    if (!isObject(item)) {
      result.push(clone(item));
      continue;
    }
    const keyValue = item[key];
    if (keyValue === undefined)
      throw new PatchError(`map: ${JSON.stringify(item)} does not contain declared merge key: ${key}`, 422);
    const index = result.findIndex((r) => isObject(r) && deepEqual(r[key], keyValue));
    if (item['$patch'] === 'delete') {
      if (index >= 0) result.splice(index, 1);
      continue;
    }
    const existing = index >= 0 ? result[index] : undefined;
    const merged = mergeObject(isObject(existing) ? existing : undefined, item, schema, itemPath);
    if (merged === undefined) {
      if (index >= 0) result.splice(index, 1);
    } else if (index >= 0) result[index] = merged;
    else result.push(merged);
  }
  return result;
}

/** `$setElementOrder`: items named in `order` come in that order; others keep their relative place after them. */
function applyOrder(list: JsonValue[], order: JsonValue[], kind: ListKind): JsonValue[] {
  const keyOf = (v: JsonValue): JsonValue =>
    kind.type === 'map' && isObject(v) ? (v[kind.smpKey] ?? null) : v;
  const ordered: JsonValue[] = [];
  const rest = [...list];
  for (const o of order) {
    const want = keyOf(o);
    const i = rest.findIndex((item) => deepEqual(keyOf(item), want));
    if (i >= 0) ordered.push(...rest.splice(i, 1));
  }
  return [...ordered, ...rest];
}
