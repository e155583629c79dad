/**
 * The kinds an installation's own manifests add to what access pods need (`kubectl apply -k
 * deploy/overlays/…`): ConfigMaps, ServiceAccounts, PersistentVolumeClaims, StatefulSets,
 * Roles, RoleBindings, PodDisruptionBudgets, NetworkPolicies and Ingresses — all namespaced,
 * all eight verbs. No controller runs for them: a StatefulSet makes no pods, a claim stays
 * Pending, a budget's status stays at zero.
 */
import { schemaFor } from './field-schema.js';
import {
  checkConfigMap,
  defaultClaim,
  defaultNetworkPolicy,
  defaultRoleBinding,
  defaultStatefulSet,
} from './resource-defaults.js';
import type { ResourceType } from './resource-type.js';
import { ALL_VERBS } from './resource-type.js';
import type { JsonObject } from './json.js';
import { validateConfigMap } from './validation-kinds.js';
import { validateRole, validateRoleBinding, validateServiceAccount } from './validation-access.js';
import { validateIngress, validateNetworkPolicy } from './validation-network.js';
import {
  validatePersistentVolumeClaim,
  validatePodDisruptionBudget,
  validateStatefulSet,
} from './validation-workloads.js';

type Definition = Pick<ResourceType, 'kind' | 'group' | 'plural' | 'storageVersionHash'> &
  Partial<ResourceType>;

/** Namespaced, every verb, RFC 1123 names, no status, no generation unless said otherwise. */
function define(d: Definition): ResourceType {
  const apiVersion = d.group ? `${d.group}/v1` : 'v1';
  return {
    listKind: `${d.kind}List`,
    version: 'v1',
    apiVersion,
    singular: d.kind.toLowerCase(),
    shortNames: [],
    categories: [],
    namespaced: true,
    verbs: ALL_VERBS,
    statusSubresource: false,
    tracksGeneration: false,
    nameRule: 'dns1123-subdomain',
    fieldSelectors: ['metadata.name', 'metadata.namespace'],
    schema: schemaFor(d.kind),
    applyDefaults: () => undefined,
    validate: () => [],
    skeleton: () => ({ metadata: {} }),
    ...d,
  };
}

const PDB_STATUS = (): JsonObject => ({
  disruptionsAllowed: 0,
  currentHealthy: 0,
  desiredHealthy: 0,
  expectedPods: 0,
});

export const MANIFEST_RESOURCE_TYPES: readonly ResourceType[] = [
  define({
    kind: 'ConfigMap',
    group: '',
    plural: 'configmaps',
    shortNames: ['cm'],
    storageVersionHash: 'qFsyl6wFWjQ=',
    applyDefaults: checkConfigMap,
    validate: validateConfigMap,
  }),
  define({
    kind: 'ServiceAccount',
    group: '',
    plural: 'serviceaccounts',
    shortNames: ['sa'],
    storageVersionHash: 'pbx9ZvyFpBE=',
    validate: validateServiceAccount,
  }),
  define({
    kind: 'PersistentVolumeClaim',
    group: '',
    plural: 'persistentvolumeclaims',
    shortNames: ['pvc'],
    storageVersionHash: 'QWTyNDq0dC4=',
    statusSubresource: true,
    applyDefaults: (obj) => defaultClaim('PersistentVolumeClaim', obj),
    validate: validatePersistentVolumeClaim,
    skeleton: () => ({ metadata: {}, spec: { resources: {} }, status: {} }),
  }),
  define({
    kind: 'StatefulSet',
    group: 'apps',
    plural: 'statefulsets',
    shortNames: ['sts'],
    categories: ['all'],
    storageVersionHash: 'H+vl74LkKdo=',
    statusSubresource: true,
    tracksGeneration: true,
    applyDefaults: defaultStatefulSet,
    validate: validateStatefulSet,
    skeleton: () => ({
      metadata: {},
      spec: { template: { metadata: {}, spec: {} }, updateStrategy: {} },
      status: { replicas: 0, availableReplicas: 0 },
    }),
  }),
  define({
    kind: 'Role',
    group: 'rbac.authorization.k8s.io',
    plural: 'roles',
    storageVersionHash: '7FuwZcIIItM=',
    nameRule: 'path-segment',
    validate: validateRole,
  }),
  define({
    kind: 'RoleBinding',
    group: 'rbac.authorization.k8s.io',
    plural: 'rolebindings',
    storageVersionHash: 'eGsCzGH6b1g=',
    nameRule: 'path-segment',
    applyDefaults: defaultRoleBinding,
    validate: validateRoleBinding,
    skeleton: () => ({ metadata: {}, roleRef: {} }),
  }),
  define({
    kind: 'PodDisruptionBudget',
    group: 'policy',
    plural: 'poddisruptionbudgets',
    shortNames: ['pdb'],
    storageVersionHash: 'EVWiDmWqyJw=',
    statusSubresource: true,
    tracksGeneration: true,
    applyDefaults: (obj) => {
      obj['status'] ??= PDB_STATUS();
    },
    validate: validatePodDisruptionBudget,
    skeleton: () => ({ metadata: {}, spec: {}, status: PDB_STATUS() }),
  }),
  define({
    kind: 'NetworkPolicy',
    group: 'networking.k8s.io',
    plural: 'networkpolicies',
    shortNames: ['netpol'],
    storageVersionHash: 'YpfwF18m1G8=',
    tracksGeneration: true,
    applyDefaults: defaultNetworkPolicy,
    validate: validateNetworkPolicy,
    skeleton: () => ({ metadata: {}, spec: { podSelector: {} } }),
  }),
  define({
    kind: 'Ingress',
    group: 'networking.k8s.io',
    plural: 'ingresses',
    shortNames: ['ing'],
    storageVersionHash: '39NQlfNR+bo=',
    statusSubresource: true,
    tracksGeneration: true,
    applyDefaults: (obj) => {
      obj['status'] ??= { loadBalancer: {} };
    },
    validate: validateIngress,
    skeleton: () => ({ metadata: {}, spec: {}, status: { loadBalancer: {} } }),
  }),
];
