/**
 * How objects are written, whatever the request that asked: identity metadata, status kept
 * from the stored object, defaults, validation, generation, Service address allocation,
 * managedFields bookkeeping for non-apply writes, no-op detection (an unchanged object keeps
 * its resourceVersion), persistence, and the simulated Deployment controller's own writes.
 * The public shapes live in `object-writer-types.ts`, the address, timestamp and key-order
 * helpers in `object-writer-helpers.ts`; both are re-exported from here.
 */
import { randomUUID } from 'node:crypto';
import type { JsonObject, JsonValue } from './json.js';
import { child, clone, deepEqual, isObject, objectAt, stringAt } from './json.js';
import type { ManagerEntry } from './managed-fields.js';
import { decodeManagedFields, encodeManagedFields, trackUpdate, trackedPart } from './managed-fields.js';
import type { ResourceType } from './resources.js';
import { RESOURCE_TYPES, resourceByPlural } from './resources.js';
import { createRolloutSimulator } from './rollout.js';
import { alreadyExists, invalid, notFound } from './status.js';
import type { KubeError } from './status.js';
import {
  SERVICE_RANGE,
  gr,
  ipToNumber,
  numberToIp,
  presentable,
  timestamp,
} from './object-writer-helpers.js';
import type { ObjectWriter, ObjectWriterDeps, PutObjectOptions } from './object-writer-types.js';

export { gr, presentable, timestamp } from './object-writer-helpers.js';
export type { ObjectWriter, ObjectWriterDeps, PutObjectOptions } from './object-writer-types.js';

export function createObjectWriter(deps: ObjectWriterDeps): ObjectWriter {
  const { store } = deps;
  const deploymentsType = resourceByPlural('apps', 'deployments') as ResourceType;
  const rollout = createRolloutSimulator({
    readyDelayMs: deps.readyDelayMs,
    list: () => store.list('deployments'),
    read: (ns, name) => store.get('deployments', ns, name),
    write: controllerWrite,
    now: () => timestamp(),
  });

  /** Identity, status handling, defaults, validation and generation for an object about to be stored. */
  function finalize(
    rt: ResourceType,
    incoming: JsonObject,
    old: JsonObject | undefined,
    namespace: string,
    name: string,
  ): JsonObject {
    const obj = clone(incoming);
    obj['apiVersion'] = rt.apiVersion;
    obj['kind'] = rt.kind;
    const meta = child(obj, 'metadata');
    meta['name'] = name;
    if (rt.namespaced) meta['namespace'] = namespace;
    else delete meta['namespace'];
    for (const key of [
      'uid',
      'creationTimestamp',
      'generation',
      'deletionTimestamp',
      'deletionGracePeriodSeconds',
      'selfLink',
    ])
      delete meta[key];
    if (old) {
      const oldMeta = objectAt(old, 'metadata') ?? {};
      for (const key of ['uid', 'creationTimestamp', 'generation'])
        if (oldMeta[key] !== undefined) meta[key] = oldMeta[key] as JsonValue;
    }
    if (rt.statusSubresource) {
      if (old && old['status'] !== undefined) obj['status'] = clone(old['status'] as JsonValue);
      else delete obj['status'];
    }
    rt.applyDefaults(obj, old);
    const errors = rt.validate(obj, old);
    if (errors.length > 0) throw invalid(rt.group, rt.kind, name, errors);
    if (rt.tracksGeneration) {
      const oldGeneration = objectAt(old, 'metadata')?.['generation'];
      const base = typeof oldGeneration === 'number' ? oldGeneration : 1;
      meta['generation'] = !old
        ? 1
        : deepEqual(objectAt(old, 'spec'), objectAt(obj, 'spec'))
          ? base
          : base + 1;
    }
    if (rt.plural === 'services') allocateServiceAddresses(obj, old, namespace, name);
    return obj;
  }

  function allocateServiceAddresses(
    obj: JsonObject,
    old: JsonObject | undefined,
    namespace: string,
    name: string,
  ): void {
    const spec = child(obj, 'spec');
    if (spec['type'] === 'ExternalName') return;
    const used = new Set<number>();
    const usedNodePorts = new Set<number>();
    for (const svc of store.list('services')) {
      const m = objectAt(svc, 'metadata');
      if (stringAt(m, 'namespace') === namespace && stringAt(m, 'name') === name) continue;
      const ip = ipToNumber(stringAt(objectAt(svc, 'spec'), 'clusterIP') ?? '');
      if (ip !== undefined) used.add(ip);
      for (const p of (objectAt(svc, 'spec')?.['ports'] as JsonValue[] | undefined) ?? []) {
        if (isObject(p) && typeof p['nodePort'] === 'number') usedNodePorts.add(p['nodePort']);
      }
    }
    const requested = stringAt(spec, 'clusterIP');
    const oldIP = stringAt(objectAt(old, 'spec'), 'clusterIP');
    if (requested === 'None') {
      spec['clusterIPs'] = ['None'];
    } else if (requested && requested !== oldIP) {
      const n = ipToNumber(requested);
      const fail = (why: string): KubeError =>
        invalid('', 'Service', name, [
          {
            type: 'FieldValueInvalid',
            field: 'spec.clusterIPs',
            value: `[]string{${JSON.stringify(requested)}}`,
            detail: `failed to allocate IP ${requested}: ${why}`,
          },
        ]);
      if (n === undefined || n < SERVICE_RANGE.base || n >= SERVICE_RANGE.base + SERVICE_RANGE.size) {
        throw fail(`provided IP is not in the valid range. The range of valid IPs is ${SERVICE_RANGE.cidr}`);
      }
      if (used.has(n)) throw fail('provided IP is already allocated');
      spec['clusterIPs'] = [requested];
    } else if (!requested) {
      let n = SERVICE_RANGE.base + 10;
      while (used.has(n)) n++;
      spec['clusterIP'] = numberToIp(n);
      spec['clusterIPs'] = [numberToIp(n)];
    } else {
      spec['clusterIPs'] ??= [requested];
    }
    if (spec['type'] === 'NodePort' || spec['type'] === 'LoadBalancer') {
      let next = 30000;
      for (const p of (spec['ports'] as JsonValue[] | undefined) ?? []) {
        if (!isObject(p) || typeof p['nodePort'] === 'number') continue;
        while (usedNodePorts.has(next)) next++;
        p['nodePort'] = next;
        usedNodePorts.add(next);
      }
    }
  }

  function tracked(rt: ResourceType, obj: JsonObject): JsonObject {
    return trackedPart(obj, rt.statusSubresource);
  }

  /** Stores (or, for dry runs, only returns) an object; Deployments get their rollout timer restarted. */
  function persist(rt: ResourceType, obj: JsonObject, dryRun: boolean): JsonObject {
    if (dryRun) return presentable(obj);
    const stored = store.put(rt.plural, obj);
    if (rt === deploymentsType) rollout.observe(stored);
    return presentable(stored);
  }

  function withManagedFields(obj: JsonObject, entries: ManagerEntry[]): JsonObject {
    const meta = child(obj, 'metadata');
    const encoded = encodeManagedFields(entries);
    if (encoded.length > 0) meta['managedFields'] = encoded;
    else delete meta['managedFields'];
    return obj;
  }

  /** Managers to start from: those the client sent (when it sent any), else the stored ones. */
  function baseManagers(incoming: JsonObject, existing: JsonObject | undefined): ManagerEntry[] {
    const sent = objectAt(incoming, 'metadata')?.['managedFields'];
    if (Array.isArray(sent) && sent.length > 0) return decodeManagedFields(incoming);
    return decodeManagedFields(existing);
  }

  function createObject(
    rt: ResourceType,
    incoming: JsonObject,
    namespace: string,
    name: string,
    manager: string,
    dryRun: boolean,
  ): JsonObject {
    const obj = finalize(rt, incoming, undefined, namespace, name);
    if (store.get(rt.plural, rt.namespaced ? namespace : '', name)) throw alreadyExists(gr(rt), name);
    const meta = child(obj, 'metadata');
    meta['uid'] = randomUUID();
    meta['creationTimestamp'] = timestamp();
    delete meta['resourceVersion'];
    const entries = trackUpdate({
      managers: baseManagers(incoming, undefined),
      before: tracked(rt, rt.skeleton()),
      after: tracked(rt, obj),
      manager,
      apiVersion: rt.apiVersion,
      now: timestamp(),
      schema: rt.schema,
    });
    return persist(rt, withManagedFields(obj, entries), dryRun);
  }

  function updateObject(
    rt: ResourceType,
    incoming: JsonObject,
    existing: JsonObject,
    manager: string,
    dryRun: boolean,
    subresource?: string,
  ): JsonObject {
    const meta = objectAt(existing, 'metadata') ?? {};
    const namespace = stringAt(meta, 'namespace') ?? '';
    const name = stringAt(meta, 'name') ?? '';
    const obj = finalize(rt, incoming, existing, namespace, name);
    const entries = trackUpdate({
      managers: baseManagers(incoming, existing),
      before: tracked(rt, existing),
      after: tracked(rt, obj),
      manager,
      apiVersion: rt.apiVersion,
      now: timestamp(),
      schema: rt.schema,
      ...(subresource ? { subresource } : {}),
    });
    return commit(rt, withManagedFields(obj, entries), existing, dryRun);
  }

  /** Writes unless nothing changed: like the real server, a no-op update keeps the resourceVersion. */
  function commit(rt: ResourceType, obj: JsonObject, existing: JsonObject, dryRun: boolean): JsonObject {
    const rv = stringAt(objectAt(existing, 'metadata'), 'resourceVersion');
    child(obj, 'metadata')['resourceVersion'] = rv ?? '';
    if (deepEqual(obj, existing)) return presentable(existing);
    return persist(rt, obj, dryRun);
  }

  /** The Deployment controller's write: annotations as one Update manager, status as the `status` subresource. */
  function controllerWrite(previous: JsonObject, next: JsonObject): void {
    const rt = deploymentsType;
    const now = timestamp();
    let entries = trackUpdate({
      managers: decodeManagedFields(previous),
      before: tracked(rt, previous),
      after: tracked(rt, next),
      manager: 'kube-controller-manager',
      apiVersion: rt.apiVersion,
      now,
      schema: rt.schema,
    });
    entries = trackUpdate({
      managers: entries,
      before: { status: previous['status'] ?? {} },
      after: { status: next['status'] ?? {} },
      manager: 'kube-controller-manager',
      apiVersion: rt.apiVersion,
      subresource: 'status',
      now,
      schema: rt.schema,
    });
    store.put(rt.plural, withManagedFields(clone(next), entries));
  }

  function deleteStored(rt: ResourceType, namespace: string, name: string): JsonObject | undefined {
    const deleted = store.remove(rt.plural, namespace, name);
    if (rt === deploymentsType) rollout.forget(namespace, name);
    return deleted;
  }

  function putObject(object: JsonObject, options: PutObjectOptions = {}): JsonObject {
    const rt = RESOURCE_TYPES.find((r) => r.kind === stringAt(object, 'kind'));
    if (!rt) throw new Error(`unsupported kind: ${String(object['kind'])}`);
    const meta = objectAt(object, 'metadata') ?? {};
    const name = stringAt(meta, 'name') ?? '';
    const namespace = rt.namespaced ? (stringAt(meta, 'namespace') ?? 'default') : '';
    if (!name) throw new Error('metadata.name is required');
    const existing = store.get(rt.plural, namespace, name);
    if (options.raw) {
      const obj = clone(object);
      const m = child(obj, 'metadata');
      if (rt.namespaced) m['namespace'] = namespace;
      m['uid'] ??= stringAt(objectAt(existing, 'metadata'), 'uid') ?? randomUUID();
      m['creationTimestamp'] ??= stringAt(objectAt(existing, 'metadata'), 'creationTimestamp') ?? timestamp();
      return persist(rt, obj, false);
    }
    const manager = options.manager ?? 'emulator-control';
    if (existing) return updateObject(rt, object, existing, manager, false);
    if (rt.namespaced) requireNamespace(namespace);
    return createObject(rt, object, namespace, name, manager, false);
  }

  function addNamespace(name: string): JsonObject {
    const existing = store.get('namespaces', '', name);
    if (existing) return existing;
    return store.put('namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name,
        uid: randomUUID(),
        creationTimestamp: timestamp(),
        labels: { 'kubernetes.io/metadata.name': name },
      },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    });
  }

  function requireNamespace(namespace: string): void {
    if (!store.get('namespaces', '', namespace))
      throw notFound({ group: '', resource: 'namespaces' }, namespace);
  }

  function saveApplied(
    rt: ResourceType,
    merged: JsonObject,
    managers: ManagerEntry[],
    existing: JsonObject | undefined,
    namespace: string,
    name: string,
    dryRun: boolean,
  ): JsonObject {
    const obj = finalize(rt, merged, existing, namespace, name);
    withManagedFields(obj, managers);
    if (existing) return commit(rt, obj, existing, dryRun);
    const meta = child(obj, 'metadata');
    meta['uid'] = randomUUID();
    meta['creationTimestamp'] = timestamp();
    delete meta['resourceVersion'];
    return persist(rt, obj, dryRun);
  }

  return {
    create: createObject,
    update: updateObject,
    saveApplied,
    remove: deleteStored,
    requireNamespace,
    putObject,
    addNamespace,
    rollout,
  };
}
