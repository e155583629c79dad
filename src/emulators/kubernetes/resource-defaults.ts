/**
 * Server defaulting (a modest subset of the real `SetDefaults_*`), per kind, applied in place
 * on every write before validation; `old` is the stored object on update. Also Secret
 * normalisation (`stringData` → `data`, base64 checked) and the quantity format.
 */
import type { JsonObject } from './json.js';
import { arrayAt, child, isObject, objectAt, stringAt } from './json.js';
import { badRequest } from './status.js';

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

export function defaultPodSpec(spec: JsonObject): void {
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

export function defaultDeployment(obj: JsonObject): void {
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

export function defaultService(obj: JsonObject, old: JsonObject | undefined): void {
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

const QUANTITY = /^[+-]?(\d+\.?\d*|\.\d+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?\d+)?$/;

/** A resource quantity's sign-carrying value (0 when it is zero), or a 400 as the decoder answers. */
export function quantityValue(kind: string, value: unknown): number {
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !QUANTITY.test(text))
    throw badRequest(
      `${kind} in version "v1" cannot be handled as a ${kind}: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`,
    );
  return Number.parseFloat(text);
}

/** `SetDefaults_PersistentVolumeClaim` (+ its spec): `volumeMode: Filesystem`, phase Pending. */
export function defaultClaim(kind: string, claim: JsonObject): void {
  const spec = child(claim, 'spec');
  spec['volumeMode'] ??= 'Filesystem';
  const resources = objectAt(spec, 'resources');
  for (const list of ['requests', 'limits'])
    for (const v of Object.values(objectAt(resources, list) ?? {})) quantityValue(kind, v);
  const status = child(claim, 'status');
  status['phase'] ??= 'Pending';
}

/** `SetDefaults_StatefulSet`, and the pod template's and claim templates' defaults. */
export function defaultStatefulSet(obj: JsonObject): void {
  const spec = child(obj, 'spec');
  spec['replicas'] ??= 1;
  spec['podManagementPolicy'] ??= 'OrderedReady';
  const strategy = child(spec, 'updateStrategy');
  strategy['type'] ??= 'RollingUpdate';
  if (strategy['type'] === 'RollingUpdate') child(strategy, 'rollingUpdate')['partition'] ??= 0;
  spec['revisionHistoryLimit'] ??= 10;
  const retention = child(spec, 'persistentVolumeClaimRetentionPolicy');
  retention['whenDeleted'] ??= 'Retain';
  retention['whenScaled'] ??= 'Retain';
  defaultPodSpec(child(child(spec, 'template'), 'spec'));
  for (const t of arrayAt(spec, 'volumeClaimTemplates') ?? []) {
    if (!isObject(t)) continue;
    t['apiVersion'] ??= 'v1';
    t['kind'] ??= 'PersistentVolumeClaim';
    defaultClaim('StatefulSet', t);
  }
  obj['status'] ??= { replicas: 0, availableReplicas: 0 };
}

/** `SetDefaults_NetworkPolicy`: ports' protocol TCP; policyTypes Ingress (+ Egress with egress rules). */
export function defaultNetworkPolicy(obj: JsonObject): void {
  const spec = child(obj, 'spec');
  spec['podSelector'] ??= {};
  for (const direction of ['ingress', 'egress'])
    for (const rule of arrayAt(spec, direction) ?? [])
      for (const port of arrayAt(isObject(rule) ? rule : undefined, 'ports') ?? [])
        if (isObject(port)) port['protocol'] ??= 'TCP';
  const types = arrayAt(spec, 'policyTypes');
  if (!types || types.length === 0)
    spec['policyTypes'] = (arrayAt(spec, 'egress') ?? []).length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
}

/** `SetDefaults_RoleBinding` and `SetDefaults_Subject`. */
export function defaultRoleBinding(obj: JsonObject): void {
  const ref = child(obj, 'roleRef');
  if (!ref['apiGroup']) ref['apiGroup'] = 'rbac.authorization.k8s.io';
  for (const s of arrayAt(obj, 'subjects') ?? []) {
    if (!isObject(s) || s['apiGroup']) continue;
    if (s['kind'] === 'User' || s['kind'] === 'Group') s['apiGroup'] = 'rbac.authorization.k8s.io';
  }
}

/** ConfigMap values are strings (the decoder refuses anything else with a 400). */
export function checkConfigMap(obj: JsonObject): void {
  for (const value of Object.values(objectAt(obj, 'data') ?? {}))
    if (typeof value !== 'string')
      throw badRequest(
        `ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal ${typeof value} into Go struct field ConfigMap.data of type string`,
      );
}
