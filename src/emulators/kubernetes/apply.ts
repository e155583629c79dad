/**
 * Server-side apply (`application/apply-patch+yaml`), following structured-merge-diff's
 * `Updater.Apply`: merge the configuration into the live object, prune the fields this manager
 * applied last time and no longer applies (unless someone else owns them), then compare with
 * the live object: fields owned by other managers that would change are conflicts (409 unless
 * `force`, which takes them over). The result keeps one `Apply` entry per manager.
 */
import type { FieldSchema } from './field-schema.js';
import type { JsonObject, JsonValue } from './json.js';
import { clone, deepEqual, isObject } from './json.js';
import type { FieldPath, ManagerEntry } from './managed-fields.js';
import {
  compare,
  decodePath,
  describeManager,
  describePath,
  difference,
  itemKeyElement,
  ownsUnder,
  sameManager,
  sameSet,
  toFieldSet,
  trackedPart,
  valueElement,
} from './managed-fields.js';
import type { StatusCause } from './status.js';
import { applyConflict } from './status.js';

export interface ApplyRequest {
  /** The live object, or a bare `{apiVersion, kind, metadata: {name, namespace}}` when it does not exist yet. */
  live: JsonObject;
  managers: ManagerEntry[];
  config: JsonObject;
  manager: string;
  force: boolean;
  apiVersion: string;
  now: string;
  schema: FieldSchema;
  statusIsSubresource: boolean;
}

export interface ApplyResult {
  object: JsonObject;
  managers: ManagerEntry[];
}

export function serverSideApply(req: ApplyRequest): ApplyResult {
  const { schema } = req;
  const config = trackedPart(req.config, req.statusIsSubresource);
  const applied = toFieldSet(config, schema);
  const me = { manager: req.manager, operation: 'Apply' as const };
  const mine = req.managers.find((e) => sameManager(e, me));
  const others = req.managers.filter((e) => !sameManager(e, me));

  const merged = mergeApplied(req.live, config, [], schema) as JsonObject;

  if (mine) {
    for (const key of difference(mine.fields, applied)) {
      const path = decodePath(key);
      if (ownsUnder(applied, path) || others.some((o) => ownsUnder(o.fields, path))) continue;
      removePath(merged, path, schema);
    }
  }

  const cmp = compare(
    trackedPart(req.live, req.statusIsSubresource),
    trackedPart(merged, req.statusIsSubresource),
    schema,
  );
  const changed = new Set([...cmp.added, ...cmp.modified]);
  const conflicts: { entry: ManagerEntry; paths: FieldPath[] }[] = [];
  for (const entry of others) {
    const paths = [...entry.fields].filter((key) => changed.has(key)).map(decodePath);
    if (paths.length > 0) conflicts.push({ entry, paths });
  }
  if (conflicts.length > 0 && !req.force) throw conflictError(conflicts);

  const entries: ManagerEntry[] = [];
  for (const entry of req.managers) {
    if (sameManager(entry, me)) continue;
    const fields = new Set([...entry.fields].filter((key) => !changed.has(key) && !cmp.removed.has(key)));
    if (fields.size > 0) entries.push({ ...entry, fields });
  }
  // An unchanged field set keeps its timestamp, so re-applying the same configuration is a no-op.
  const unchanged = mine !== undefined && sameSet(mine.fields, applied);
  const entry: ManagerEntry = {
    manager: req.manager,
    operation: 'Apply',
    apiVersion: req.apiVersion,
    time: unchanged && mine ? mine.time : req.now,
    fields: applied,
  };
  const index = req.managers.findIndex((e) => sameManager(e, me));
  if (applied.size > 0) {
    if (index >= 0) entries.splice(Math.min(index, entries.length), 0, entry);
    else entries.push(entry);
  }
  return { object: merged, managers: entries };
}

function conflictError(conflicts: { entry: ManagerEntry; paths: FieldPath[] }[]): Error {
  conflicts.sort((a, b) =>
    a.entry.manager < b.entry.manager ? -1 : a.entry.manager > b.entry.manager ? 1 : 0,
  );
  const causes: StatusCause[] = [];
  let total = 0;
  for (const c of conflicts) {
    c.paths.sort((a, b) => (describePath(a) < describePath(b) ? -1 : 1));
    for (const path of c.paths) {
      causes.push({
        reason: 'FieldManagerConflict',
        message: `conflict with ${describeManager(c.entry)}`,
        field: describePath(path),
      });
      total++;
    }
  }
  let message: string;
  const first = conflicts[0];
  const firstPath = first?.paths[0];
  if (total === 1 && first && firstPath) {
    message = `Apply failed with 1 conflict: conflict with ${describeManager(first.entry)}: ${describePath(firstPath)}`;
  } else {
    const lines: string[] = [];
    for (const c of conflicts) {
      lines.push(`conflicts with ${describeManager(c.entry)}:`);
      for (const path of c.paths) lines.push(`- ${describePath(path)}`);
    }
    message = `Apply failed with ${total} conflicts: ${lines.join('\n')}`;
  }
  return applyConflict(message, causes);
}

/** Merges an applied configuration into a live value: maps and keyed lists merge, atomic values are replaced. */
function mergeApplied(
  live: JsonValue | undefined,
  config: JsonValue,
  schemaPath: string[],
  schema: FieldSchema,
): JsonValue | undefined {
  if (config === null) return undefined;
  if (isObject(config)) {
    if (schema.atomicObject(schemaPath)) return clone(config);
    const result: JsonObject = isObject(live) ? clone(live) : {};
    for (const [key, value] of Object.entries(config)) {
      const merged = mergeApplied(result[key], value, [...schemaPath, key], schema);
      if (merged === undefined) delete result[key];
      else result[key] = merged;
    }
    return result;
  }
  if (Array.isArray(config)) {
    const kind = schema.list(schemaPath);
    if (kind.type === 'atomic' || !Array.isArray(live)) return clone(config);
    const result = clone(live);
    if (kind.type === 'set') {
      for (const item of config) if (!result.some((r) => deepEqual(r, item))) result.push(clone(item));
      return result;
    }
    const itemPath = [...schemaPath, '[]'];
    for (const item of config) {
      const element = itemKeyElement(item, kind);
      const index = element === undefined ? -1 : result.findIndex((r) => itemKeyElement(r, kind) === element);
      if (index < 0) result.push(clone(item));
      else result[index] = mergeApplied(result[index], item, itemPath, schema) ?? null;
    }
    return result;
  }
  return config;
}

/** Deletes the field, list item or set member at `path` from `obj`, if present. */
function removePath(obj: JsonObject, path: FieldPath, schema: FieldSchema): void {
  let node: JsonValue | undefined = obj;
  const schemaPath: string[] = [];
  for (let i = 0; i < path.length; i++) {
    const element = path[i] ?? '';
    const last = i === path.length - 1;
    if (element.startsWith('f:')) {
      if (!isObject(node)) return;
      const name = element.slice(2);
      if (last) {
        delete node[name];
        return;
      }
      node = node[name];
      schemaPath.push(name);
    } else if (element.startsWith('k:')) {
      const kind = schema.list(schemaPath);
      if (!Array.isArray(node) || kind.type !== 'map') return;
      const index = node.findIndex((item) => itemKeyElement(item, kind) === element);
      if (index < 0) return;
      if (last) {
        node.splice(index, 1);
        return;
      }
      node = node[index];
      schemaPath.push('[]');
    } else if (element.startsWith('v:')) {
      if (!Array.isArray(node)) return;
      const list: JsonValue[] = node;
      const index = list.findIndex((item) => valueElement(item) === element);
      if (index >= 0) list.splice(index, 1);
      return;
    } else {
      return;
    }
  }
}

/** Re-exported for tests: the set an apply of `config` would own. */
export function appliedFieldSet(
  config: JsonObject,
  schema: FieldSchema,
  statusIsSubresource: boolean,
): string[] {
  return [...toFieldSet(trackedPart(config, statusIsSubresource), schema)].map((key) =>
    describePath(decodePath(key)),
  );
}
