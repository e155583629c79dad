/**
 * The small slice of the Kubernetes OpenAPI schema that merging needs: which lists are keyed
 * (and by what), which are sets, which objects are atomic. Strategic merge patch uses
 * `smpKey` (the Go `patchMergeKey`); server-side apply uses `keys` (`x-kubernetes-list-map-keys`).
 * Anything not listed is an atomic list / a granular map, as in the real schema's defaults.
 */
import type { JsonValue } from './json.js';

export type ListKind =
  | { type: 'map'; keys: string[]; smpKey: string; keyDefaults?: Record<string, JsonValue> }
  /** A list of scalars merged as a set (SSA `set`, SMP `patchStrategy:merge` on primitives). */
  | { type: 'set' }
  | { type: 'atomic' };

export interface FieldSchema {
  /** How the list at `path` merges; `path` uses `[]` for "an item of the enclosing list". */
  list(path: readonly string[]): ListKind;
  /** True for structs/maps replaced as a whole (e.g. a Deployment's `spec.selector`). */
  atomicObject(path: readonly string[]): boolean;
}

const ATOMIC: ListKind = { type: 'atomic' };
const byName = (): ListKind => ({ type: 'map', keys: ['name'], smpKey: 'name' });

interface SchemaTables {
  lists: Map<string, ListKind>;
  atomics: Set<string>;
}

function newTables(): SchemaTables {
  return { lists: new Map(), atomics: new Set() };
}

function addMetadata(t: SchemaTables, prefix: string): void {
  t.lists.set(`${prefix}metadata.finalizers`, { type: 'set' });
  t.lists.set(`${prefix}metadata.ownerReferences`, { type: 'map', keys: ['uid'], smpKey: 'uid' });
}

function addContainer(t: SchemaTables, c: string): void {
  t.lists.set(`${c}.ports`, {
    type: 'map',
    keys: ['containerPort', 'protocol'],
    smpKey: 'containerPort',
    keyDefaults: { protocol: 'TCP' },
  });
  t.lists.set(`${c}.env`, byName());
  t.lists.set(`${c}.volumeMounts`, { type: 'map', keys: ['mountPath'], smpKey: 'mountPath' });
  t.lists.set(`${c}.volumeDevices`, { type: 'map', keys: ['devicePath'], smpKey: 'devicePath' });
  for (const ref of ['secretKeyRef', 'configMapKeyRef', 'fieldRef', 'resourceFieldRef']) {
    t.atomics.add(`${c}.env.[].valueFrom.${ref}`);
  }
}

function addPodSpec(t: SchemaTables, spec: string): void {
  for (const list of ['containers', 'initContainers', 'ephemeralContainers']) {
    t.lists.set(`${spec}.${list}`, byName());
    addContainer(t, `${spec}.${list}.[]`);
  }
  t.lists.set(`${spec}.volumes`, byName());
  t.lists.set(`${spec}.imagePullSecrets`, byName());
  t.lists.set(`${spec}.hostAliases`, { type: 'map', keys: ['ip'], smpKey: 'ip' });
  t.lists.set(`${spec}.topologySpreadConstraints`, {
    type: 'map',
    keys: ['topologyKey', 'whenUnsatisfiable'],
    smpKey: 'topologyKey',
  });
  t.lists.set(`${spec}.schedulingGates`, byName());
  t.lists.set(`${spec}.resourceClaims`, byName());
  t.atomics.add(`${spec}.imagePullSecrets.[]`);
}

function build(t: SchemaTables): FieldSchema {
  return {
    list: (path) => t.lists.get(path.join('.')) ?? ATOMIC,
    atomicObject: (path) => t.atomics.has(path.join('.')),
  };
}

function deploymentSchema(): FieldSchema {
  const t = newTables();
  addMetadata(t, '');
  addMetadata(t, 'spec.template.');
  t.atomics.add('spec.selector');
  addPodSpec(t, 'spec.template.spec');
  t.lists.set('status.conditions', { type: 'map', keys: ['type'], smpKey: 'type' });
  return build(t);
}

function serviceSchema(): FieldSchema {
  const t = newTables();
  addMetadata(t, '');
  t.lists.set('spec.ports', {
    type: 'map',
    keys: ['port', 'protocol'],
    smpKey: 'port',
    keyDefaults: { protocol: 'TCP' },
  });
  t.atomics.add('spec.selector');
  t.lists.set('status.conditions', { type: 'map', keys: ['type'], smpKey: 'type' });
  return build(t);
}

function statefulSetSchema(): FieldSchema {
  const t = newTables();
  addMetadata(t, '');
  addMetadata(t, 'spec.template.');
  t.atomics.add('spec.selector');
  addPodSpec(t, 'spec.template.spec');
  t.lists.set('status.conditions', { type: 'map', keys: ['type'], smpKey: 'type' });
  return build(t);
}

/** Kinds whose only merge-relevant parts are atomic objects (label selectors, a roleRef) and status conditions. */
function withAtomics(...paths: string[]): FieldSchema {
  const t = newTables();
  addMetadata(t, '');
  for (const p of paths) t.atomics.add(p);
  t.lists.set('status.conditions', { type: 'map', keys: ['type'], smpKey: 'type' });
  return build(t);
}

function serviceAccountSchema(): FieldSchema {
  const t = newTables();
  addMetadata(t, '');
  t.lists.set('secrets', byName());
  return build(t);
}

function plainSchema(): FieldSchema {
  const t = newTables();
  addMetadata(t, '');
  return build(t);
}

const schemas: Record<string, FieldSchema> = {
  Deployment: deploymentSchema(),
  Service: serviceSchema(),
  Secret: plainSchema(),
  Namespace: plainSchema(),
  ConfigMap: plainSchema(),
  ServiceAccount: serviceAccountSchema(),
  PersistentVolumeClaim: withAtomics('spec.selector', 'spec.dataSource', 'spec.dataSourceRef'),
  StatefulSet: statefulSetSchema(),
  Role: plainSchema(),
  RoleBinding: withAtomics('roleRef'),
  PodDisruptionBudget: withAtomics('spec.selector'),
  NetworkPolicy: withAtomics('spec.podSelector'),
  Ingress: plainSchema(),
};

export function schemaFor(kind: string): FieldSchema {
  return schemas[kind] ?? plainSchema();
}
