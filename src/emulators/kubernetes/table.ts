/**
 * Server-side printing: the `meta.k8s.io/v1` `Table` that `kubectl get` asks for
 * (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`), with the same columns the real
 * server prints for Deployments, Services, Secrets and Namespaces.
 */
import type { JsonObject, JsonValue } from './json.js';
import { arrayAt, isObject, objectAt, stringAt, stringMap } from './json.js';
import type { ResourceType } from './resources.js';

interface Column {
  name: string;
  type: 'string' | 'integer';
  format?: string;
  description: string;
  priority?: number;
  cell(obj: JsonObject, now: number): JsonValue;
}

/** apimachinery's `duration.HumanDuration`. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8)
    return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 365 * 8)
    return days % 365 === 0 ? `${Math.floor(days / 365)}y` : `${Math.floor(days / 365)}y${days % 365}d`;
  return `${Math.floor(days / 365)}y`;
}

const nameColumn: Column = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description:
    'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names',
  cell: (obj) => stringAt(objectAt(obj, 'metadata'), 'name') ?? '',
};

const ageColumn: Column = {
  name: 'Age',
  type: 'string',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
  cell: (obj, now) => {
    const created = stringAt(objectAt(obj, 'metadata'), 'creationTimestamp');
    return created ? humanDuration(now - Date.parse(created)) : '<unknown>';
  },
};

const num = (v: JsonValue | undefined): number => (typeof v === 'number' ? v : 0);

function selectorText(labels: Record<string, string>): string {
  const entries = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b));
  return entries.length === 0 ? '<none>' : entries.map(([k, v]) => `${k}=${v}`).join(',');
}

function containers(obj: JsonObject): JsonObject[] {
  const list = arrayAt(objectAt(objectAt(objectAt(obj, 'spec'), 'template'), 'spec'), 'containers') ?? [];
  return list.filter(isObject);
}

const deploymentColumns: Column[] = [
  nameColumn,
  {
    name: 'Ready',
    type: 'string',
    description: 'Number of the pod with ready state',
    cell: (o) => `${num(objectAt(o, 'status')?.['readyReplicas'])}/${num(objectAt(o, 'spec')?.['replicas'])}`,
  },
  {
    name: 'Up-to-date',
    type: 'integer',
    description:
      'Total number of non-terminated pods targeted by this deployment that have the desired template spec.',
    cell: (o) => num(objectAt(o, 'status')?.['updatedReplicas']),
  },
  {
    name: 'Available',
    type: 'integer',
    description:
      'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.',
    cell: (o) => num(objectAt(o, 'status')?.['availableReplicas']),
  },
  ageColumn,
  {
    name: 'Containers',
    type: 'string',
    priority: 1,
    description: 'Names of each container in the template.',
    cell: (o) =>
      containers(o)
        .map((c) => stringAt(c, 'name') ?? '')
        .join(','),
  },
  {
    name: 'Images',
    type: 'string',
    priority: 1,
    description: 'Images referenced by each container in the template.',
    cell: (o) =>
      containers(o)
        .map((c) => stringAt(c, 'image') ?? '')
        .join(','),
  },
  {
    name: 'Selector',
    type: 'string',
    priority: 1,
    description:
      'Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.',
    cell: (o) => selectorText(stringMap(objectAt(objectAt(o, 'spec'), 'selector')?.['matchLabels'])),
  },
];

function servicePorts(obj: JsonObject): string {
  const ports = (arrayAt(objectAt(obj, 'spec'), 'ports') ?? []).filter(isObject);
  if (ports.length === 0) return '<none>';
  return ports
    .map((p) => {
      const nodePort = typeof p['nodePort'] === 'number' ? `:${p['nodePort']}` : '';
      return `${String(p['port'])}${nodePort}/${stringAt(p, 'protocol') ?? 'TCP'}`;
    })
    .join(',');
}

const serviceColumns: Column[] = [
  nameColumn,
  {
    name: 'Type',
    type: 'string',
    description: 'type determines how the Service is exposed.',
    cell: (o) => stringAt(objectAt(o, 'spec'), 'type') ?? 'ClusterIP',
  },
  {
    name: 'Cluster-IP',
    type: 'string',
    description: 'clusterIP is the IP address of the service and is usually assigned randomly.',
    cell: (o) => stringAt(objectAt(o, 'spec'), 'clusterIP') ?? '<none>',
  },
  {
    name: 'External-IP',
    type: 'string',
    description:
      'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.',
    cell: (o) => {
      const spec = objectAt(o, 'spec');
      if (stringAt(spec, 'type') === 'ExternalName') return stringAt(spec, 'externalName') ?? '<none>';
      if (stringAt(spec, 'type') === 'LoadBalancer') return '<pending>';
      const ips = (arrayAt(spec, 'externalIPs') ?? []).map(String);
      return ips.length > 0 ? ips.join(',') : '<none>';
    },
  },
  {
    name: 'Port(s)',
    type: 'string',
    description: 'The list of ports that are exposed by this service.',
    cell: servicePorts,
  },
  ageColumn,
  {
    name: 'Selector',
    type: 'string',
    priority: 1,
    description: 'Route service traffic to pods with label keys and values matching this selector.',
    cell: (o) => selectorText(stringMap(objectAt(o, 'spec')?.['selector'])),
  },
];

const secretColumns: Column[] = [
  nameColumn,
  {
    name: 'Type',
    type: 'string',
    description: 'Used to facilitate programmatic handling of secret data.',
    cell: (o) => stringAt(o, 'type') ?? 'Opaque',
  },
  {
    name: 'Data',
    type: 'integer',
    description: 'Data contains the secret data.',
    cell: (o) => Object.keys(objectAt(o, 'data') ?? {}).length,
  },
  ageColumn,
];

const namespaceColumns: Column[] = [
  nameColumn,
  {
    name: 'Status',
    type: 'string',
    description: 'The status of the namespace',
    cell: (o) => stringAt(objectAt(o, 'status'), 'phase') ?? 'Active',
  },
  ageColumn,
];

const columnsByKind: Record<string, Column[]> = {
  Deployment: deploymentColumns,
  Service: serviceColumns,
  Secret: secretColumns,
  Namespace: namespaceColumns,
};

export type IncludeObject = 'None' | 'Object' | 'PartialObjectMetadata';

export function renderTable(
  rt: ResourceType,
  objects: JsonObject[],
  listMeta: JsonObject,
  tableVersion: string,
  includeObject: IncludeObject,
  now = Date.now(),
): JsonObject {
  const columns = columnsByKind[rt.kind] ?? [nameColumn, ageColumn];
  return {
    kind: 'Table',
    apiVersion: `meta.k8s.io/${tableVersion}`,
    metadata: listMeta,
    columnDefinitions: columns.map((c) => {
      const def: JsonObject = {
        name: c.name,
        type: c.type,
        format: c.format ?? '',
        description: c.description,
        priority: c.priority ?? 0,
      };
      return def;
    }),
    rows: objects.map((obj) => {
      const row: JsonObject = { cells: columns.map((c) => c.cell(obj, now)) };
      if (includeObject === 'Object') row['object'] = obj;
      else if (includeObject === 'PartialObjectMetadata') {
        row['object'] = {
          kind: 'PartialObjectMetadata',
          apiVersion: `meta.k8s.io/${tableVersion}`,
          metadata: objectAt(obj, 'metadata') ?? {},
        };
      }
      return row;
    }),
  };
}
