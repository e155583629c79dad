/**
 * JSON value types and the few structural helpers every other module of the emulator needs
 * (type guards, deep equality, deep copy). Kubernetes objects are handled as plain JSON here.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function clone<T extends JsonValue>(value: T): T {
  return structuredClone(value);
}

export function deepEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a === null || b === null) return false;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  }
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return false;
    return keys.every((key) => key in b && deepEqual(a[key], b[key]));
  }
  return false;
}

/** The object at `obj[key]`, created (and attached) when missing or not an object. */
export function child(obj: JsonObject, key: string): JsonObject {
  const existing = obj[key];
  if (isObject(existing)) return existing;
  const created: JsonObject = {};
  obj[key] = created;
  return created;
}

/** `obj[key]` when it is an object, else undefined. */
export function objectAt(obj: JsonObject | undefined, key: string): JsonObject | undefined {
  const value = obj?.[key];
  return isObject(value) ? value : undefined;
}

export function stringAt(obj: JsonObject | undefined, key: string): string | undefined {
  const value = obj?.[key];
  return typeof value === 'string' ? value : undefined;
}

export function arrayAt(obj: JsonObject | undefined, key: string): JsonValue[] | undefined {
  const value = obj?.[key];
  return Array.isArray(value) ? value : undefined;
}

/** Labels (or any string map) of an object, ignoring non-string values. */
export function stringMap(value: JsonValue | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isObject(value)) return out;
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** Go's `%q`-like quoting, as used in Kubernetes error messages. */
export function quote(value: string): string {
  return JSON.stringify(value);
}
