/**
 * Validation with the real server's rules and messages: RFC 1123 / RFC 1035 names, qualified
 * names and values for labels (k8s.io/apimachinery/pkg/util/validation), and a modest part of
 * the per-kind rules (pkg/apis/{apps,core}/validation). Every function returns `FieldError`s;
 * the caller turns them into one 422 Invalid.
 */
import type { JsonObject, JsonValue } from './json.js';
import { arrayAt, deepEqual, isObject, objectAt, stringAt, stringMap } from './json.js';
import type { FieldError } from './status.js';

const DNS1123_LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_SUBDOMAIN_FMT = `${DNS1123_LABEL_FMT}(\\.${DNS1123_LABEL_FMT})*`;
const DNS1035_LABEL_FMT = '[a-z]([-a-z0-9]*[a-z0-9])?';
const QNAME_CHAR = '[A-Za-z0-9]';
const QNAME_EXT_CHAR = '[-A-Za-z0-9_.]';
const QUALIFIED_NAME_FMT = `(${QNAME_CHAR}${QNAME_EXT_CHAR}*)?${QNAME_CHAR}`;
const LABEL_VALUE_FMT = `(${QUALIFIED_NAME_FMT})?`;
const CONFIG_KEY_FMT = '[-._a-zA-Z0-9]+';

const full = (fmt: string): RegExp => new RegExp(`^${fmt}$`);
const dns1123Label = full(DNS1123_LABEL_FMT);
const dns1123Subdomain = full(DNS1123_SUBDOMAIN_FMT);
const dns1035Label = full(DNS1035_LABEL_FMT);
const qualifiedName = full(QUALIFIED_NAME_FMT);
const labelValue = full(LABEL_VALUE_FMT);
const configKey = full(CONFIG_KEY_FMT);

/** apimachinery's `RegexError`, including its double space before "or". */
export function regexError(msg: string, fmt: string, ...examples: string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${fmt}')`;
  let out = `${msg} (e.g. `;
  examples.forEach((example, i) => {
    if (i > 0) out += ' or ';
    out += `'${example}', `;
  });
  return `${out}regex used for validation is '${fmt}')`;
}

export const maxLenError = (n: number): string => `must be no more than ${n} characters`;
const EMPTY_ERROR = 'must be non-empty';

export function isDNS1123Label(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push(maxLenError(63));
  if (!dns1123Label.test(value)) {
    errs.push(
      regexError(
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
        DNS1123_LABEL_FMT,
        'my-name',
        '123-abc',
      ),
    );
  }
  return errs;
}

export function isDNS1123Subdomain(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 253) errs.push(maxLenError(253));
  if (!dns1123Subdomain.test(value)) {
    errs.push(
      regexError(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
        DNS1123_SUBDOMAIN_FMT,
        'example.com',
      ),
    );
  }
  return errs;
}

export function isDNS1035Label(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push(maxLenError(63));
  if (!dns1035Label.test(value)) {
    errs.push(
      regexError(
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character",
        DNS1035_LABEL_FMT,
        'my-name',
        'abc-123',
      ),
    );
  }
  return errs;
}

const QUALIFIED_NAME_MSG =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

/** Label and annotation keys: `[prefix/]name`. */
export function isQualifiedName(value: string): string[] {
  const errs: string[] = [];
  const parts = value.split('/');
  let name: string;
  if (parts.length === 1) {
    name = parts[0] ?? '';
  } else if (parts.length === 2) {
    const prefix = parts[0] ?? '';
    name = parts[1] ?? '';
    if (prefix.length === 0) errs.push(`prefix part ${EMPTY_ERROR}`);
    else for (const msg of isDNS1123Subdomain(prefix)) errs.push(`prefix part ${msg}`);
  } else {
    return [
      `a qualified name ${regexError(QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, 'MyName', 'my.name', '123-abc')} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  if (name.length === 0) errs.push(`name part ${EMPTY_ERROR}`);
  else if (name.length > 63) errs.push(`name part ${maxLenError(63)}`);
  if (!qualifiedName.test(name)) {
    errs.push(
      `name part ${regexError(QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, 'MyName', 'my.name', '123-abc')}`,
    );
  }
  return errs;
}

export function labelValueErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push(maxLenError(63));
  if (!labelValue.test(value)) {
    errs.push(
      regexError(
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        LABEL_VALUE_FMT,
        'MyValue',
        'my_value',
        '12345',
      ),
    );
  }
  return errs;
}

function isConfigKey(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 253) errs.push(maxLenError(253));
  if (!configKey.test(value)) {
    errs.push(
      regexError(
        "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
        CONFIG_KEY_FMT,
        'key.name',
        'KEY_NAME',
        'key-name',
      ),
    );
  }
  if (value === '.') errs.push("must not be '.'");
  else if (value === '..') errs.push("must not be '..'");
  else if (value.startsWith('..')) errs.push("must not start with '..'");
  return errs;
}

function isValidPortName(port: string): string[] {
  const errs: string[] = [];
  if (port.length > 15) errs.push(maxLenError(15));
  if (!/^[-a-z0-9]+$/.test(port))
    errs.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  else if (!/[a-z]/.test(port)) errs.push('must contain at least one letter (a-z)');
  if (port.includes('--')) errs.push('must not contain consecutive hyphens');
  if (port.startsWith('-') || port.endsWith('-')) errs.push('must not begin or end with a hyphen');
  return errs;
}

/** Renders a value the way Go's `%#v`/`%q` would in an `Invalid value:` message. */
export function goValue(value: JsonValue | undefined): string {
  if (value === undefined || value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v === 'string'))
      return `[]string{${value.map((v) => JSON.stringify(v)).join(', ')}}`;
    return `[]interface {}{${value.map(goValue).join(', ')}}`;
  }
  const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.every(([, v]) => typeof v === 'string')) {
    return `map[string]string{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(', ')}}`;
  }
  return `map[string]interface {}{${entries.map(([k, v]) => `${JSON.stringify(k)}:${goValue(v)}`).join(', ')}}`;
}

const invalidValue = (field: string, value: JsonValue | undefined, detail: string): FieldError => ({
  type: 'FieldValueInvalid',
  field,
  value: goValue(value),
  detail,
});
const required = (field: string, detail?: string): FieldError =>
  detail ? { type: 'FieldValueRequired', field, detail } : { type: 'FieldValueRequired', field };
const notSupported = (field: string, value: JsonValue | undefined, supported: string[]): FieldError => ({
  type: 'FieldValueNotSupported',
  field,
  value: goValue(value),
  detail: `supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}`,
});
const duplicate = (field: string, value: JsonValue | undefined): FieldError => ({
  type: 'FieldValueDuplicate',
  field,
  value: goValue(value),
});
const forbiddenField = (field: string, detail: string): FieldError => ({
  type: 'FieldValueForbidden',
  field,
  detail,
});

export function validateLabels(labels: JsonValue | undefined, field: string): FieldError[] {
  const errs: FieldError[] = [];
  if (labels === undefined || labels === null) return errs;
  if (!isObject(labels)) return [invalidValue(field, labels, 'must be a map of strings')];
  for (const key of Object.keys(labels).sort()) {
    for (const msg of isQualifiedName(key)) errs.push(invalidValue(field, key, msg));
    const value = labels[key];
    if (typeof value !== 'string') {
      errs.push(invalidValue(field, value, 'must be a string'));
      continue;
    }
    for (const msg of labelValueErrors(value)) errs.push(invalidValue(field, value, msg));
  }
  return errs;
}

function validateAnnotations(annotations: JsonValue | undefined, field: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!isObject(annotations)) return errs;
  let total = 0;
  for (const [key, value] of Object.entries(annotations)) {
    for (const msg of isQualifiedName(key.toLowerCase())) errs.push(invalidValue(field, key, msg));
    total += key.length + (typeof value === 'string' ? value.length : 0);
  }
  if (total > 256 * 1024)
    errs.push({ type: 'FieldValueTooLong', field, detail: `must have at most ${256 * 1024} bytes` });
  return errs;
}

export type NameRule = 'dns1123-subdomain' | 'dns1035-label' | 'dns1123-label';

export function nameErrors(name: string, rule: NameRule): string[] {
  switch (rule) {
    case 'dns1123-subdomain':
      return isDNS1123Subdomain(name);
    case 'dns1035-label':
      return isDNS1035Label(name);
    case 'dns1123-label':
      return isDNS1123Label(name);
  }
}

export function validateObjectMeta(obj: JsonObject, rule: NameRule): FieldError[] {
  const meta = objectAt(obj, 'metadata') ?? {};
  const errs: FieldError[] = [];
  const name = stringAt(meta, 'name') ?? '';
  if (!name) errs.push(required('metadata.name', 'name or generateName is required'));
  else for (const msg of nameErrors(name, rule)) errs.push(invalidValue('metadata.name', name, msg));
  errs.push(...validateLabels(meta['labels'], 'metadata.labels'));
  errs.push(...validateAnnotations(meta['annotations'], 'metadata.annotations'));
  return errs;
}

const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];

function validatePort(value: JsonValue | undefined, field: string, errs: FieldError[]): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535) {
    errs.push(invalidValue(field, value, 'must be between 1 and 65535, inclusive'));
  }
}

function validateContainers(
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

function selectorMatches(selector: JsonObject, labels: Record<string, string>): boolean {
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
function goLabelSelector(selector: JsonObject | undefined): string {
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
