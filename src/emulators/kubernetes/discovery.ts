/**
 * Legacy (unaggregated) discovery documents: `/version`, `/api`, `/apis`, `/api/v1`,
 * `/apis/apps`, `/apis/apps/v1`. Clients that ask for aggregated discovery
 * (`as=APIGroupDiscoveryList`) get these too, served as plain `application/json`, which
 * client-go (kubectl) takes as "this server only speaks legacy discovery" and falls back.
 */
import type { JsonObject } from './json.js';
import type { ResourceType } from './resources.js';
import { RESOURCE_TYPES } from './resources.js';

export const EMULATED_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.0' };

export function versionDocument(): JsonObject {
  return {
    major: EMULATED_VERSION.major,
    minor: EMULATED_VERSION.minor,
    gitVersion: EMULATED_VERSION.gitVersion,
    gitCommit: '70d3cc986aa8221cd1dfb1121852688902d3bf53',
    gitTreeState: 'clean',
    buildDate: '2024-12-11T17:58:00Z',
    goVersion: 'go1.23.3',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

export function coreVersions(serverAddress: string): JsonObject {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function groupDocument(group: string): JsonObject {
  const gv = { groupVersion: `${group}/v1`, version: 'v1' };
  return { name: group, versions: [gv], preferredVersion: gv };
}

function groups(): string[] {
  return [...new Set(RESOURCE_TYPES.map((r) => r.group).filter((g) => g !== ''))];
}

export function groupList(): JsonObject {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups().map(groupDocument) };
}

/** `/apis/<group>`, or undefined when the group is not served. */
export function apiGroup(group: string): JsonObject | undefined {
  if (!groups().includes(group)) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...groupDocument(group) };
}

function resourceEntry(r: ResourceType): JsonObject {
  const entry: JsonObject = {
    name: r.plural,
    singularName: r.singular,
    namespaced: r.namespaced,
    kind: r.kind,
    verbs: [...r.verbs],
  };
  if (r.shortNames.length > 0) entry['shortNames'] = [...r.shortNames];
  if (r.categories.length > 0) entry['categories'] = [...r.categories];
  entry['storageVersionHash'] = r.storageVersionHash;
  return entry;
}

/** Served subresources: only `deployments/scale`. */
function subresourceEntries(r: ResourceType): JsonObject[] {
  if (r.plural !== 'deployments') return [];
  return [
    {
      name: 'deployments/scale',
      singularName: '',
      namespaced: true,
      group: 'autoscaling',
      version: 'v1',
      kind: 'Scale',
      verbs: ['get', 'patch', 'update'],
    },
  ];
}

/** `/api/v1` or `/apis/<group>/v1`, or undefined when not served. */
export function resourceList(group: string, version: string): JsonObject | undefined {
  if (version !== 'v1') return undefined;
  const resources = RESOURCE_TYPES.filter((r) => r.group === group);
  if (resources.length === 0) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources: resources.flatMap((r) => [resourceEntry(r), ...subresourceEntries(r)]),
  };
}
