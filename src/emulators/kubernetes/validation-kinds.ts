/**
 * The per-kind rules (pkg/apis/{apps,core}/validation), a modest part of them: Deployments
 * (replicas, selector against template labels, containers and ports, restart policy,
 * strategy, selector immutability), Services (type, ports, selector, clusterIP immutability),
 * Secrets and ConfigMaps (data keys and size, type immutability, `immutable`). The kinds of an
 * installation's manifests: `validation-workloads.ts`, `validation-access.ts`, `validation-network.ts`.
 */
import type { JsonObject, JsonValue } from './json.js';
import { arrayAt, deepEqual, isObject, objectAt, stringAt, stringMap } from './json.js';
import type { FieldError } from './status.js';
import {
  duplicate,
  forbiddenField,
  goValue,
  invalidValue,
  notSupported,
  required,
  validateLabels,
  validateObjectMeta,
} from './validation-meta.js';
import { isConfigKey, isDNS1123Label, isValidPortName } from './validation-names.js';

export const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];

export function validatePort(value: JsonValue | undefined, field: string, errs: FieldError[]): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535) {
    errs.push(invalidValue(field, value, 'must be between 1 and 65535, inclusive'));
  }
}

export function validateContainers(
  list: JsonValue[] | undefined,
  field: string,
  errs: FieldError[],
  requireOne: boolean,
): void {
  if (!list || list.length === 0) {
    if (requireOne) errs.push(required(field));
    return;
  }
  const names = new Set<string>();
  list.forEach((c, i) => {
    const f = `${field}[${i}]`;
    if (!isObject(c)) {
      errs.push(invalidValue(f, c, 'must be an object'));
      return;
    }
    const name = stringAt(c, 'name') ?? '';
    if (!name) errs.push(required(`${f}.name`));
    else {
      for (const msg of isDNS1123Label(name)) errs.push(invalidValue(`${f}.name`, name, msg));
      if (names.has(name)) errs.push(duplicate(`${f}.name`, name));
      names.add(name);
    }
    if (!stringAt(c, 'image')) errs.push(required(`${f}.image`));
    const portNames = new Set<string>();
    (arrayAt(c, 'ports') ?? []).forEach((p, j) => {
      const pf = `${f}.ports[${j}]`;
      if (!isObject(p)) return;
      validatePort(p['containerPort'], `${pf}.containerPort`, errs);
      const portName = stringAt(p, 'name');
      if (portName !== undefined) {
        for (const msg of isValidPortName(portName)) errs.push(invalidValue(`${pf}.name`, portName, msg));
        if (portNames.has(portName)) errs.push(duplicate(`${pf}.name`, portName));
        portNames.add(portName);
      }
      const protocol = p['protocol'];
      if (protocol !== undefined && !PROTOCOLS.includes(String(protocol)))
        errs.push(notSupported(`${pf}.protocol`, protocol, PROTOCOLS));
    });
    (arrayAt(c, 'env') ?? []).forEach((e, j) => {
      if (isObject(e) && !stringAt(e, 'name')) errs.push(required(`${f}.env[${j}].name`));
    });
  });
}

function matchLabelsOf(selector: JsonObject | undefined): Record<string, string> {
  return stringMap(selector?.['matchLabels']);
}

export function selectorMatches(selector: JsonObject, labels: Record<string, string>): boolean {
  const ml = matchLabelsOf(selector);
  if (!Object.entries(ml).every(([k, v]) => labels[k] === v)) return false;
  for (const expr of arrayAt(selector, 'matchExpressions') ?? []) {
    if (!isObject(expr)) continue;
    const key = stringAt(expr, 'key') ?? '';
    const values = (arrayAt(expr, 'values') ?? []).map(String);
    const has = key in labels;
    switch (stringAt(expr, 'operator')) {
      case 'In':
        if (!has || !values.includes(labels[key] ?? '')) return false;
        break;
      case 'NotIn':
        if (has && values.includes(labels[key] ?? '')) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
    }
  }
  return true;
}

/** Go's `%#v` of a `v1.LabelSelector`, as printed in immutability errors. */
export function goLabelSelector(selector: JsonObject | undefined): string {
  const ml = selector?.['matchLabels'];
  const mlText = isObject(ml) ? goValue(ml) : 'map[string]string(nil)';
  const exprs = arrayAt(selector, 'matchExpressions');
  const exprText =
    exprs && exprs.length > 0
      ? `[]v1.LabelSelectorRequirement{${exprs.length} items}`
      : '[]v1.LabelSelectorRequirement(nil)';
  return `v1.LabelSelector{MatchLabels:${mlText}, MatchExpressions:${exprText}}`;
}

export function validateDeployment(obj: JsonObject, old: JsonObject | undefined): FieldError[] {
  const errs = validateObjectMeta(obj, 'dns1123-subdomain');
  const spec = objectAt(obj, 'spec') ?? {};
  const replicas = spec['replicas'];
  if (replicas !== undefined && (typeof replicas !== 'number' || replicas < 0)) {
    errs.push(invalidValue('spec.replicas', replicas, 'must be greater than or equal to 0'));
  }
  const selector = objectAt(spec, 'selector');
  const template = objectAt(spec, 'template') ?? {};
  const templateLabels = stringMap(objectAt(template, 'metadata')?.['labels']);
  if (!selector) {
    errs.push(required('spec.selector'));
  } else {
    errs.push(...validateLabels(selector['matchLabels'], 'spec.selector.matchLabels'));
    const empty =
      Object.keys(matchLabelsOf(selector)).length === 0 &&
      (arrayAt(selector, 'matchExpressions') ?? []).length === 0;
    if (empty)
      errs.push({
        type: 'FieldValueInvalid',
        field: 'spec.selector',
        value: goLabelSelector(selector),
        detail: 'empty selector is invalid for deployment',
      });
    else if (!selectorMatches(selector, templateLabels)) {
      errs.push(
        invalidValue(
          'spec.template.metadata.labels',
          templateLabels,
          '`selector` does not match template `labels`',
        ),
      );
    }
  }
  errs.push(...validateLabels(objectAt(template, 'metadata')?.['labels'], 'spec.template.metadata.labels'));
  const podSpec = objectAt(template, 'spec') ?? {};
  validateContainers(arrayAt(podSpec, 'containers'), 'spec.template.spec.containers', errs, true);
  validateContainers(arrayAt(podSpec, 'initContainers'), 'spec.template.spec.initContainers', errs, false);
  const restartPolicy = podSpec['restartPolicy'];
  if (restartPolicy !== undefined && restartPolicy !== 'Always') {
    errs.push(notSupported('spec.template.spec.restartPolicy', restartPolicy, ['Always']));
  }
  const strategyType = objectAt(spec, 'strategy')?.['type'];
  if (strategyType !== undefined && strategyType !== 'Recreate' && strategyType !== 'RollingUpdate') {
    errs.push(notSupported('spec.strategy.type', strategyType, ['Recreate', 'RollingUpdate']));
  }
  if (strategyType === 'Recreate' && objectAt(spec, 'strategy')?.['rollingUpdate'] !== undefined) {
    errs.push(
      forbiddenField(
        'spec.strategy.rollingUpdate',
        "may not be specified when strategy `type` is 'Recreate'",
      ),
    );
  }
  if (old) {
    const oldSelector = objectAt(objectAt(old, 'spec'), 'selector');
    if (selector && oldSelector && !deepEqual(selector, oldSelector)) {
      errs.push({
        type: 'FieldValueInvalid',
        field: 'spec.selector',
        value: goLabelSelector(selector),
        detail: 'field is immutable',
      });
    }
  }
  return errs;
}

const SERVICE_TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];

export function validateService(obj: JsonObject, old: JsonObject | undefined): FieldError[] {
  const errs = validateObjectMeta(obj, 'dns1035-label');
  const spec = objectAt(obj, 'spec') ?? {};
  const type = spec['type'] ?? 'ClusterIP';
  if (!SERVICE_TYPES.includes(String(type))) errs.push(notSupported('spec.type', type, SERVICE_TYPES));
  const ports = arrayAt(spec, 'ports') ?? [];
  if (ports.length === 0 && type !== 'ExternalName' && spec['clusterIP'] !== 'None')
    errs.push(required('spec.ports'));
  const names = new Set<string>();
  ports.forEach((p, i) => {
    const f = `spec.ports[${i}]`;
    if (!isObject(p)) return;
    const name = stringAt(p, 'name');
    if (ports.length > 1 && !name) errs.push(required(`${f}.name`));
    if (name) {
      for (const msg of isDNS1123Label(name)) errs.push(invalidValue(`${f}.name`, name, msg));
      if (names.has(name)) errs.push(duplicate(`${f}.name`, name));
      names.add(name);
    }
    validatePort(p['port'], `${f}.port`, errs);
    const protocol = p['protocol'];
    if (protocol !== undefined && !PROTOCOLS.includes(String(protocol)))
      errs.push(notSupported(`${f}.protocol`, protocol, PROTOCOLS));
    const target = p['targetPort'];
    if (typeof target === 'number') validatePort(target, `${f}.targetPort`, errs);
    else if (typeof target === 'string')
      for (const msg of isValidPortName(target)) errs.push(invalidValue(`${f}.targetPort`, target, msg));
  });
  errs.push(...validateLabels(spec['selector'], 'spec.selector'));
  if (old) {
    const oldIP = stringAt(objectAt(old, 'spec'), 'clusterIP');
    const newIP = stringAt(spec, 'clusterIP');
    if (oldIP && newIP && oldIP !== newIP) {
      errs.push({
        type: 'FieldValueInvalid',
        field: 'spec.clusterIPs[0]',
        value: goValue([newIP]),
        detail: 'may not change once set',
      });
    }
  }
  return errs;
}

export function validateSecret(obj: JsonObject, old: JsonObject | undefined): FieldError[] {
  const errs = validateObjectMeta(obj, 'dns1123-subdomain');
  const data = objectAt(obj, 'data') ?? {};
  let total = 0;
  for (const [key, value] of Object.entries(data)) {
    for (const msg of isConfigKey(key)) errs.push(invalidValue(`data[${key}]`, key, msg));
    total += typeof value === 'string' ? Math.floor((value.length * 3) / 4) : 0;
  }
  if (total > 1024 * 1024)
    errs.push({ type: 'FieldValueTooLong', field: 'data', detail: `must have at most ${1024 * 1024} bytes` });
  const type = stringAt(obj, 'type') ?? 'Opaque';
  if (type === 'kubernetes.io/tls') {
    for (const key of ['tls.crt', 'tls.key']) if (!(key in data)) errs.push(required(`data[${key}]`));
  }
  if (old) {
    const oldType = stringAt(old, 'type') ?? 'Opaque';
    if (oldType !== type) errs.push(invalidValue('type', type, 'field is immutable'));
    if (old['immutable'] === true) {
      if (!deepEqual(old['data'] ?? {}, obj['data'] ?? {}))
        errs.push(forbiddenField('data', 'field is immutable when `immutable` is set'));
      if (obj['immutable'] !== true)
        errs.push(forbiddenField('immutable', 'field is immutable when `immutable` is set'));
    }
  }
  return errs;
}

/** ConfigMaps: keys of `data` and `binaryData` (never both for one key), 1 MiB in all, `immutable`. */
export function validateConfigMap(obj: JsonObject, old: JsonObject | undefined): FieldError[] {
  const errs = validateObjectMeta(obj, 'dns1123-subdomain');
  const data = objectAt(obj, 'data') ?? {};
  const binary = objectAt(obj, 'binaryData') ?? {};
  let total = 0;
  for (const [key, value] of Object.entries(data)) {
    for (const msg of isConfigKey(key)) errs.push(invalidValue(`data[${key}]`, key, msg));
    if (key in binary) errs.push(invalidValue(`data[${key}]`, key, 'duplicate of key present in binaryData'));
    total += typeof value === 'string' ? Buffer.byteLength(value) : 0;
  }
  for (const [key, value] of Object.entries(binary)) {
    for (const msg of isConfigKey(key)) errs.push(invalidValue(`binaryData[${key}]`, key, msg));
    total += typeof value === 'string' ? Math.floor((value.length * 3) / 4) : 0;
  }
  if (total > 1024 * 1024)
    errs.push({ type: 'FieldValueTooLong', field: '', detail: `must have at most ${1024 * 1024} bytes` });
  if (old?.['immutable'] === true) {
    if (!deepEqual(old['data'] ?? {}, obj['data'] ?? {}))
      errs.push(forbiddenField('data', 'field is immutable when `immutable` is set'));
    if (!deepEqual(old['binaryData'] ?? {}, obj['binaryData'] ?? {}))
      errs.push(forbiddenField('binaryData', 'field is immutable when `immutable` is set'));
    if (obj['immutable'] !== true)
      errs.push(forbiddenField('immutable', 'field is immutable when `immutable` is set'));
  }
  return errs;
}
