/**
 * Small pieces of the write path: the Service ClusterIP range and IPv4 address arithmetic for
 * allocation, the group/resource of a kind as errors name it, Kubernetes' `metav1.Time`
 * timestamps, and the key order of objects as the real server prints them.
 */
import type { JsonObject, JsonValue } from './json.js';
import { objectAt } from './json.js';
import type { ResourceType } from './resources.js';

export const SERVICE_RANGE = { base: (10 << 24) | (96 << 16), size: 1 << 20, cidr: '10.96.0.0/12' };

export const gr = (rt: ResourceType): { group: string; resource: string } => ({
  group: rt.group,
  resource: rt.plural,
});

/** RFC 3339 with second precision, as Kubernetes prints `metav1.Time`. */
export function timestamp(date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function ipToNumber(ip: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return (((parts[0] ?? 0) << 24) | ((parts[1] ?? 0) << 16) | ((parts[2] ?? 0) << 8) | (parts[3] ?? 0)) >>> 0;
}

export function numberToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Orders keys like the real server's JSON: kind, apiVersion, metadata, …, status last. */
export function presentable(obj: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const key of ['kind', 'apiVersion', 'metadata'])
    if (obj[key] !== undefined) out[key] = obj[key] as JsonValue;
  for (const [key, value] of Object.entries(obj)) if (!(key in out) && key !== 'status') out[key] = value;
  if (obj['status'] !== undefined) out['status'] = obj['status'];
  const meta = objectAt(out, 'metadata');
  if (meta) {
    const order = [
      'name',
      'generateName',
      'namespace',
      'uid',
      'resourceVersion',
      'generation',
      'creationTimestamp',
      'deletionTimestamp',
      'labels',
      'annotations',
      'ownerReferences',
      'finalizers',
      'managedFields',
    ];
    const m: JsonObject = {};
    for (const key of order) if (meta[key] !== undefined) m[key] = meta[key] as JsonValue;
    for (const [key, value] of Object.entries(meta)) if (!(key in m)) m[key] = value;
    out['metadata'] = m;
  }
  return out;
}
