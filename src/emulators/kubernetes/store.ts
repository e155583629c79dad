/**
 * In-memory object storage with etcd-like versioning: one global, monotonically increasing
 * `resourceVersion` stamped on every write, a bounded history of change events for watches,
 * and listeners for live watch streams. Objects go in and come out as deep copies, so nothing
 * outside the store can change stored state without a write.
 */
import type { JsonObject } from './json.js';
import { clone, objectAt, stringAt } from './json.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: WatchEventType;
  resourceVersion: number;
  /** Plural resource name, e.g. `deployments`. */
  resource: string;
  namespace: string;
  object: JsonObject;
  /** The object before the change (MODIFIED and DELETED). */
  previous?: JsonObject;
}

export interface ObjectStore {
  get(resource: string, namespace: string, name: string): JsonObject | undefined;
  /** Objects of a resource, sorted by namespace then name; all namespaces when `namespace` is undefined. */
  list(resource: string, namespace?: string): JsonObject[];
  /** Every stored object, for the control API. */
  all(): { resource: string; object: JsonObject }[];
  /** Stamps the next resourceVersion on `object` and stores it. */
  put(resource: string, object: JsonObject): JsonObject;
  /** Removes an object; the DELETED event carries a fresh resourceVersion. */
  remove(resource: string, namespace: string, name: string): JsonObject | undefined;
  currentVersion(): number;
  /** Events after `resourceVersion`, or `undefined` when history no longer reaches back that far. */
  eventsSince(resourceVersion: number): StoreEvent[] | undefined;
  subscribe(listener: (event: StoreEvent) => void): () => void;
  /** Drops every object (keeps the version counter moving forward, like a real cluster would). */
  clear(): void;
}

const HISTORY_LIMIT = 2000;

function keyOf(resource: string, namespace: string, name: string): string {
  return `${resource}/${namespace}/${name}`;
}

export function createObjectStore(firstVersion = 1000): ObjectStore {
  const objects = new Map<string, { resource: string; object: JsonObject }>();
  const history: StoreEvent[] = [];
  const listeners = new Set<(event: StoreEvent) => void>();
  let version = firstVersion;
  let oldestReachable = firstVersion;

  function emit(event: StoreEvent): void {
    history.push(event);
    if (history.length > HISTORY_LIMIT) {
      const dropped = history.shift();
      if (dropped) oldestReachable = dropped.resourceVersion;
    }
    for (const listener of listeners) listener(event);
  }

  function identity(object: JsonObject): { namespace: string; name: string } {
    const meta = objectAt(object, 'metadata');
    return { namespace: stringAt(meta, 'namespace') ?? '', name: stringAt(meta, 'name') ?? '' };
  }

  function remove(resource: string, namespace: string, name: string): JsonObject | undefined {
    const key = keyOf(resource, namespace, name);
    const entry = objects.get(key);
    if (!entry) return undefined;
    objects.delete(key);
    version++;
    const deleted = clone(entry.object);
    const meta = objectAt(deleted, 'metadata') ?? {};
    meta['resourceVersion'] = String(version);
    emit({
      type: 'DELETED',
      resourceVersion: version,
      resource,
      namespace,
      object: clone(deleted),
      previous: clone(entry.object),
    });
    return deleted;
  }

  return {
    get(resource, namespace, name) {
      const entry = objects.get(keyOf(resource, namespace, name));
      return entry ? clone(entry.object) : undefined;
    },
    list(resource, namespace) {
      const out: JsonObject[] = [];
      for (const entry of objects.values()) {
        if (entry.resource !== resource) continue;
        if (namespace !== undefined && identity(entry.object).namespace !== namespace) continue;
        out.push(clone(entry.object));
      }
      return out.sort((a, b) => {
        const ia = identity(a);
        const ib = identity(b);
        return ia.namespace === ib.namespace
          ? ia.name.localeCompare(ib.name)
          : ia.namespace.localeCompare(ib.namespace);
      });
    },
    all() {
      return [...objects.values()].map((e) => ({ resource: e.resource, object: clone(e.object) }));
    },
    put(resource, object) {
      const { namespace, name } = identity(object);
      const key = keyOf(resource, namespace, name);
      const previous = objects.get(key)?.object;
      version++;
      const stored = clone(object);
      const meta = objectAt(stored, 'metadata') ?? {};
      meta['resourceVersion'] = String(version);
      stored['metadata'] = meta;
      objects.set(key, { resource, object: stored });
      const event: StoreEvent = {
        type: previous ? 'MODIFIED' : 'ADDED',
        resourceVersion: version,
        resource,
        namespace,
        object: clone(stored),
      };
      if (previous) event.previous = clone(previous);
      emit(event);
      return clone(stored);
    },
    remove,
    currentVersion: () => version,
    eventsSince(resourceVersion) {
      if (resourceVersion < oldestReachable) return undefined;
      return history.filter((e) => e.resourceVersion > resourceVersion);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    clear() {
      for (const { resource, object } of [...objects.values()]) {
        const { namespace, name } = identity(object);
        remove(resource, namespace, name);
      }
    },
  };
}
