/**
 * The resource types the emulator serves (Deployments, Services, Secrets, Namespaces) and what
 * the real server does to each on write: defaulting (a modest subset of `SetDefaults_*`),
 * normalisation (Secret `stringData` → `data`), validation, the discovery entry, and the
 * skeleton an empty typed object serialises to (used for field ownership on create).
 */
import type { FieldSchema } from './field-schema.js';
import { schemaFor } from './field-schema.js';
import type { JsonObject } from './json.js';
import { arrayAt, child, isObject, objectAt, stringAt } from './json.js';
import type { FieldError } from './status.js';
import { badRequest } from './status.js';
import type { NameRule } from './validation.js';
import { validateDeployment, validateSecret, validateService } from './validation.js';

export interface ResourceType {
  kind: string;
  listKind: string;
  group: string;
  version: string;
  /** `apps/v1` or `v1`. */
  apiVersion: string;
  plural: string;
  singular: string;
  shortNames: string[];
  categories: string[];
  namespaced: boolean;
  /** The verbs discovery advertises, and the only ones served. */
  verbs: string[];
  storageVersionHash: string;
  statusSubresource: boolean;
  /** Deployments bump `metadata.generation` when their spec changes. */
  tracksGeneration: boolean;
  nameRule: NameRule;
  fieldSelectors: string[];
  schema: FieldSchema;
  /** Fills server defaults in place; `old` is the stored object on update. */
  applyDefaults(obj: JsonObject, old: JsonObject | undefined): void;
  validate(obj: JsonObject, old: JsonObject | undefined): FieldError[];
  /** What an empty typed object serialises to; ownership on create is computed against it. */
  skeleton(): JsonObject;
}

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function imagePullPolicy(image: string): string {
  if (image.includes('@')) return 'IfNotPresent';
  const lastSegment = image.slice(image.lastIndexOf('/') + 1);
  const colon = lastSegment.lastIndexOf(':');
  const tag = colon >= 0 ? lastSegment.slice(colon + 1) : '';
  return tag === '' || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultProbe(probe: JsonObject | undefined): void {
  if (!probe) return;
  probe['timeoutSeconds'] ??= 1;
  probe['periodSeconds'] ??= 10;
  probe['successThreshold'] ??= 1;
  probe['failureThreshold'] ??= 3;
}

function defaultContainer(c: JsonObject): void {
  c['terminationMessagePath'] ??= '/dev/termination-log';
  c['terminationMessagePolicy'] ??= 'File';
  const image = stringAt(c, 'image');
  if (image !== undefined) c['imagePullPolicy'] ??= imagePullPolicy(image);
  c['resources'] ??= {};
  for (const port of arrayAt(c, 'ports') ?? []) if (isObject(port)) port['protocol'] ??= 'TCP';
  for (const env of arrayAt(c, 'env') ?? []) {
    const fieldRef = objectAt(objectAt(isObject(env) ? env : undefined, 'valueFrom'), 'fieldRef');
    if (fieldRef) fieldRef['apiVersion'] ??= 'v1';
  }
  defaultProbe(objectAt(c, 'readinessProbe'));
  defaultProbe(objectAt(c, 'livenessProbe'));
  defaultProbe(objectAt(c, 'startupProbe'));
}

function defaultPodSpec(spec: JsonObject): void {
  spec['restartPolicy'] ??= 'Always';
  spec['terminationGracePeriodSeconds'] ??= 30;
  spec['dnsPolicy'] ??= 'ClusterFirst';
  spec['securityContext'] ??= {};
  spec['schedulerName'] ??= 'default-scheduler';
  for (const list of ['containers', 'initContainers']) {
    for (const c of arrayAt(spec, list) ?? []) if (isObject(c)) defaultContainer(c);
  }
  for (const volume of arrayAt(spec, 'volumes') ?? []) {
    if (!isObject(volume)) continue;
    for (const source of ['secret', 'configMap']) {
      const s = objectAt(volume, source);
      if (s) s['defaultMode'] ??= 420;
    }
  }
}

function defaultDeployment(obj: JsonObject): void {
  const spec = child(obj, 'spec');
  spec['replicas'] ??= 1;
  const strategy = child(spec, 'strategy');
  strategy['type'] ??= 'RollingUpdate';
  if (strategy['type'] === 'RollingUpdate') {
    const rolling = child(strategy, 'rollingUpdate');
    rolling['maxUnavailable'] ??= '25%';
    rolling['maxSurge'] ??= '25%';
  }
  spec['revisionHistoryLimit'] ??= 10;
  spec['progressDeadlineSeconds'] ??= 600;
  const template = child(spec, 'template');
  defaultPodSpec(child(template, 'spec'));
  obj['status'] ??= {};
}

function defaultService(obj: JsonObject, old: JsonObject | undefined): void {
  const spec = child(obj, 'spec');
  spec['type'] ??= 'ClusterIP';
  const oldSpec = objectAt(old, 'spec');
  // Like the real registry, an update that omits the allocated address keeps it.
  if (oldSpec && spec['clusterIP'] === undefined && oldSpec['clusterIP'] !== undefined)
    spec['clusterIP'] = oldSpec['clusterIP'];
  if (oldSpec && spec['clusterIPs'] === undefined && oldSpec['clusterIPs'] !== undefined)
    spec['clusterIPs'] = oldSpec['clusterIPs'];
  if (spec['type'] !== 'ExternalName') {
    spec['sessionAffinity'] ??= 'None';
    spec['internalTrafficPolicy'] ??= 'Cluster';
    spec['ipFamilies'] ??= ['IPv4'];
    spec['ipFamilyPolicy'] ??= 'SingleStack';
  }
  if (spec['type'] === 'NodePort' || spec['type'] === 'LoadBalancer')
    spec['externalTrafficPolicy'] ??= 'Cluster';
  for (const port of arrayAt(spec, 'ports') ?? []) {
    if (!isObject(port)) continue;
    port['protocol'] ??= 'TCP';
    if (port['targetPort'] === undefined && port['port'] !== undefined) port['targetPort'] = port['port'];
  }
  if (obj['status'] === undefined) obj['status'] = { loadBalancer: {} };
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Secrets: `stringData` is merged into `data` and never stored; `data` must be base64. */
export function normalizeSecret(obj: JsonObject): void {
  obj['type'] ??= 'Opaque';
  const data = objectAt(obj, 'data') ?? {};
  for (const [key, value] of Object.entries(data)) {
    if (typeof value !== 'string')
      throw badRequest(
        `Secret in version "v1" cannot be handled as a Secret: json: cannot unmarshal ${typeof value} into Go struct field Secret.data of type []uint8`,
      );
    if (value.length % 4 !== 0 || !BASE64.test(value)) {
      const at = [...value].findIndex((ch) => !/[A-Za-z0-9+/=]/.test(ch));
      throw badRequest(
        `Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte ${at >= 0 ? at : value.length}`,
      );
    }
    data[key] = value;
  }
  const stringData = objectAt(obj, 'stringData');
  if (stringData) {
    for (const [key, value] of Object.entries(stringData))
      data[key] = Buffer.from(String(value), 'utf8').toString('base64');
    delete obj['stringData'];
  }
  if (Object.keys(data).length > 0 || obj['data'] !== undefined) obj['data'] = data;
}

const deployments: ResourceType = {
  kind: 'Deployment',
  listKind: 'DeploymentList',
  group: 'apps',
  version: 'v1',
  apiVersion: 'apps/v1',
  plural: 'deployments',
  singular: 'deployment',
  shortNames: ['deploy'],
  categories: ['all'],
  namespaced: true,
  verbs: ALL_VERBS,
  storageVersionHash: '8aSe+NMegvE=',
  statusSubresource: true,
  tracksGeneration: true,
  nameRule: 'dns1123-subdomain',
  fieldSelectors: ['metadata.name', 'metadata.namespace'],
  schema: schemaFor('Deployment'),
  applyDefaults: (obj) => defaultDeployment(obj),
  validate: validateDeployment,
  skeleton: () => ({
    metadata: {},
    spec: { template: { metadata: {}, spec: {} }, strategy: {} },
    status: {},
  }),
};

const services: ResourceType = {
  kind: 'Service',
  listKind: 'ServiceList',
  group: '',
  version: 'v1',
  apiVersion: 'v1',
  plural: 'services',
  singular: 'service',
  shortNames: ['svc'],
  categories: ['all'],
  namespaced: true,
  // No deletecollection: Services long refused it (405), so code tested here must delete one by one.
  verbs: ALL_VERBS.filter((v) => v !== 'deletecollection'),
  storageVersionHash: '0/CO1lhkEBI=',
  statusSubresource: true,
  tracksGeneration: false,
  nameRule: 'dns1035-label',
  fieldSelectors: ['metadata.name', 'metadata.namespace'],
  schema: schemaFor('Service'),
  applyDefaults: defaultService,
  validate: validateService,
  skeleton: () => ({ metadata: {}, spec: {}, status: { loadBalancer: {} } }),
};

const secrets: ResourceType = {
  kind: 'Secret',
  listKind: 'SecretList',
  group: '',
  version: 'v1',
  apiVersion: 'v1',
  plural: 'secrets',
  singular: 'secret',
  shortNames: [],
  categories: [],
  namespaced: true,
  verbs: ALL_VERBS,
  storageVersionHash: 'S6u1pOWzb84=',
  statusSubresource: false,
  tracksGeneration: false,
  nameRule: 'dns1123-subdomain',
  fieldSelectors: ['metadata.name', 'metadata.namespace', 'type'],
  schema: schemaFor('Secret'),
  applyDefaults: (obj) => normalizeSecret(obj),
  validate: validateSecret,
  skeleton: () => ({ metadata: {} }),
};

const namespaces: ResourceType = {
  kind: 'Namespace',
  listKind: 'NamespaceList',
  group: '',
  version: 'v1',
  apiVersion: 'v1',
  plural: 'namespaces',
  singular: 'namespace',
  shortNames: ['ns'],
  categories: [],
  namespaced: false,
  verbs: ['get', 'list', 'watch'],
  storageVersionHash: 'Q3oi5N2YM8M=',
  statusSubresource: true,
  tracksGeneration: false,
  nameRule: 'dns1123-label',
  fieldSelectors: ['metadata.name'],
  schema: schemaFor('Namespace'),
  applyDefaults: () => undefined,
  validate: () => [],
  skeleton: () => ({ metadata: {}, spec: {}, status: {} }),
};

export const RESOURCE_TYPES: readonly ResourceType[] = [deployments, services, secrets, namespaces];

export function resourceByPlural(group: string, plural: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((r) => r.group === group && r.plural === plural);
}

/** Accepts a kind (`Deployment`), plural (`deployments`), singular or short name, any case. */
export function resourceByName(name: string): ResourceType | undefined {
  const n = name.toLowerCase();
  return RESOURCE_TYPES.find(
    (r) => r.kind.toLowerCase() === n || r.plural === n || r.singular === n || r.shortNames.includes(n),
  );
}

export function resourceByKind(
  apiVersion: string | undefined,
  kind: string | undefined,
): ResourceType | undefined {
  return RESOURCE_TYPES.find(
    (r) => r.kind === kind && (apiVersion === undefined || r.apiVersion === apiVersion),
  );
}
