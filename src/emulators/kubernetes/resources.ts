/**
 * The resource types the emulator serves and how they are looked up. Deployments, Services,
 * Secrets and Namespaces (what access pods need) are defined here; the kinds an installation's
 * own manifests add (`kubectl apply -k deploy/overlays/…`) in `resources-manifests.ts`;
 * defaulting in `resource-defaults.ts`, the shape in `resource-type.ts`.
 */
import { schemaFor } from './field-schema.js';
import { defaultDeployment, defaultService, normalizeSecret } from './resource-defaults.js';
import type { ResourceType } from './resource-type.js';
import { ALL_VERBS } from './resource-type.js';
import { MANIFEST_RESOURCE_TYPES } from './resources-manifests.js';
import { validateDeployment, validateSecret, validateService } from './validation.js';

export type { ResourceType } from './resource-type.js';
export { normalizeSecret } from './resource-defaults.js';

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

export const RESOURCE_TYPES: readonly ResourceType[] = [
  deployments,
  services,
  secrets,
  namespaces,
  ...MANIFEST_RESOURCE_TYPES,
];

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
