/**
 * Per-kind rules for NetworkPolicies and Ingresses (pkg/apis/networking/validation), a modest
 * part with the real messages: peers, ports and policy types; rules, paths, path types and
 * backends, hosts that are DNS names.
 */
import { isIP } from 'node:net';
import type { JsonObject, JsonValue } from './json.js';
import { arrayAt, isObject, objectAt, stringAt } from './json.js';
import type { FieldError } from './status.js';
import { PROTOCOLS, validatePort } from './validation-kinds.js';
import {
  forbiddenField,
  invalidValue,
  notSupported,
  required,
  validateLabels,
  validateObjectMeta,
} from './validation-meta.js';
import { isDNS1035Label, isDNS1123Subdomain, isValidPortName } from './validation-names.js';

function validatePeer(peer: JsonObject, field: string): FieldError[] {
  const errs: FieldError[] = [];
  let peers = 0;
  for (const key of ['podSelector', 'namespaceSelector']) {
    const selector = objectAt(peer, key);
    if (!selector) continue;
    peers++;
    errs.push(...validateLabels(selector['matchLabels'], `${field}.${key}.matchLabels`));
  }
  const block = objectAt(peer, 'ipBlock');
  if (block) {
    peers++;
    const cidr = stringAt(block, 'cidr') ?? '';
    if (!cidr) errs.push(required(`${field}.ipBlock.cidr`));
    else if (!isCidr(cidr))
      errs.push(
        invalidValue(
          `${field}.ipBlock.cidr`,
          cidr,
          'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)',
        ),
      );
  }
  if (peers === 0) errs.push(required(field, 'must specify a peer'));
  else if (peers > 1 && block)
    errs.push(forbiddenField(field, 'may not specify both ipBlock and another peer'));
  return errs;
}

function isCidr(text: string): boolean {
  const [ip, bits, extra] = text.split('/');
  if (extra !== undefined || ip === undefined || bits === undefined || !/^\d{1,3}$/.test(bits)) return false;
  const family = isIP(ip);
  return family !== 0 && Number(bits) <= (family === 4 ? 32 : 128);
}

function validateNetworkPort(port: JsonObject, field: string, errs: FieldError[]): void {
  const protocol = port['protocol'];
  if (protocol !== undefined && !PROTOCOLS.includes(String(protocol)))
    errs.push(notSupported(`${field}.protocol`, protocol, PROTOCOLS));
  const p = port['port'];
  if (typeof p === 'number') validatePort(p, `${field}.port`, errs);
  else if (typeof p === 'string')
    for (const msg of isValidPortName(p)) errs.push(invalidValue(`${field}.port`, p, msg));
  const end = port['endPort'];
  if (end === undefined) return;
  if (typeof p === 'string')
    errs.push(forbiddenField(`${field}.endPort`, 'may not be specified when `port` is non-numeric'));
  else if (p === undefined)
    errs.push(forbiddenField(`${field}.endPort`, 'may not be specified when `port` is not specified'));
  else if (typeof end === 'number' && typeof p === 'number' && end < p)
    errs.push(invalidValue(`${field}.endPort`, end, 'must be greater than or equal to `port`'));
}

export function validateNetworkPolicy(obj: JsonObject): FieldError[] {
  const errs = validateObjectMeta(obj, 'dns1123-subdomain');
  const spec = objectAt(obj, 'spec') ?? {};
  errs.push(
    ...validateLabels(objectAt(spec, 'podSelector')?.['matchLabels'], 'spec.podSelector.matchLabels'),
  );
  for (const [direction, peersKey] of [
    ['ingress', 'from'],
    ['egress', 'to'],
  ] as const) {
    (arrayAt(spec, direction) ?? []).forEach((rule, i) => {
      const f = `spec.${direction}[${i}]`;
      if (!isObject(rule)) return;
      (arrayAt(rule, 'ports') ?? []).forEach((port, j) => {
        if (isObject(port)) validateNetworkPort(port, `${f}.ports[${j}]`, errs);
      });
      (arrayAt(rule, peersKey) ?? []).forEach((peer, j) => {
        if (isObject(peer)) errs.push(...validatePeer(peer, `${f}.${peersKey}[${j}]`));
      });
    });
  }
  const types = arrayAt(spec, 'policyTypes') ?? [];
  types.forEach((t, i) => {
    if (t !== 'Ingress' && t !== 'Egress')
      errs.push(notSupported(`spec.policyTypes[${i}]`, t, ['Ingress', 'Egress']));
  });
  if (types.length > 2)
    errs.push(invalidValue('spec.policyTypes', types, 'may not specify more than two policyTypes'));
  return errs;
}

/** `ValidateIngressBackend`. */
function validateBackend(backend: JsonObject, field: string): FieldError[] {
  const service = objectAt(backend, 'service');
  const resource = objectAt(backend, 'resource');
  if (service && resource) return [invalidValue(field, '', 'cannot set both resource and service backends')];
  if (resource) {
    const errs: FieldError[] = [];
    if (!stringAt(resource, 'kind')) errs.push(required(`${field}.resource.kind`));
    if (!stringAt(resource, 'name')) errs.push(required(`${field}.resource.name`));
    return errs;
  }
  if (!service) return [invalidValue(field, '', 'resource or service backend is required')];
  const errs: FieldError[] = [];
  const name = stringAt(service, 'name') ?? '';
  if (!name) errs.push(required(`${field}.service.name`));
  else for (const msg of isDNS1035Label(name)) errs.push(invalidValue(`${field}.service.name`, name, msg));
  const port = objectAt(service, 'port') ?? {};
  const portName = stringAt(port, 'name') ?? '';
  const number = port['number'];
  const hasNumber = typeof number === 'number' && number !== 0;
  if (portName && hasNumber) errs.push(invalidValue(field, '', 'cannot set both port name & port number'));
  else if (portName)
    for (const msg of isValidPortName(portName))
      errs.push(invalidValue(`${field}.service.port.name`, portName, msg));
  else if (hasNumber) validatePort(number, `${field}.service.port.number`, errs);
  else errs.push(required(field, 'port name or number is required'));
  return errs;
}

function hostErrors(host: string, field: string): FieldError[] {
  if (isIP(host) !== 0) return [invalidValue(field, host, 'must be a DNS name, not an IP address')];
  const name = host.startsWith('*.') ? host.slice(2) : host;
  return isDNS1123Subdomain(name).map((msg) => invalidValue(field, host, msg));
}

const PATH_TYPES = ['Exact', 'ImplementationSpecific', 'Prefix'];

function validatePath(p: JsonObject, field: string): FieldError[] {
  const errs: FieldError[] = [];
  const pathType = p['pathType'];
  const path = stringAt(p, 'path') ?? '';
  if (pathType === undefined) errs.push(required(`${field}.pathType`, 'pathType must be specified'));
  else if (!PATH_TYPES.includes(String(pathType)))
    errs.push(notSupported(`${field}.pathType`, pathType, PATH_TYPES));
  if ((pathType === 'Exact' || pathType === 'Prefix') && !path.startsWith('/'))
    errs.push(invalidValue(`${field}.path`, path, 'must be an absolute path'));
  if (pathType === 'ImplementationSpecific' && path !== '' && !path.startsWith('/'))
    errs.push(invalidValue(`${field}.path`, path, 'must be an absolute path'));
  const backend = objectAt(p, 'backend');
  errs.push(...(backend ? validateBackend(backend, `${field}.backend`) : [required(`${field}.backend`)]));
  return errs;
}

export function validateIngress(obj: JsonObject): FieldError[] {
  const errs = validateObjectMeta(obj, 'dns1123-subdomain');
  const spec = objectAt(obj, 'spec') ?? {};
  const rules = arrayAt(spec, 'rules') ?? [];
  const defaultBackend = objectAt(spec, 'defaultBackend');
  if (rules.length === 0 && !defaultBackend)
    errs.push({
      type: 'FieldValueInvalid',
      field: 'spec',
      value: '[]networking.IngressRule(nil)',
      detail: 'either `defaultBackend` or `rules` must be specified',
    });
  if (defaultBackend) errs.push(...validateBackend(defaultBackend, 'spec.defaultBackend'));
  const className = spec['ingressClassName'];
  if (typeof className === 'string')
    for (const msg of isDNS1123Subdomain(className))
      errs.push(invalidValue('spec.ingressClassName', className, msg));
  rules.forEach((rule, i) => {
    const f = `spec.rules[${i}]`;
    if (!isObject(rule)) return;
    const host = stringAt(rule, 'host');
    if (host) errs.push(...hostErrors(host, `${f}.host`));
    const http = objectAt(rule, 'http');
    if (!http) return;
    const paths: JsonValue[] = arrayAt(http, 'paths') ?? [];
    if (paths.length === 0) errs.push(required(`${f}.http.paths`));
    paths.forEach((p, j) => {
      if (isObject(p)) errs.push(...validatePath(p, `${f}.http.paths[${j}]`));
    });
  });
  (arrayAt(spec, 'tls') ?? []).forEach((tls, i) => {
    if (!isObject(tls)) return;
    (arrayAt(tls, 'hosts') ?? []).forEach((h, j) => {
      if (typeof h === 'string') errs.push(...hostErrors(h, `spec.tls[${i}].hosts[${j}]`));
    });
  });
  return errs;
}
