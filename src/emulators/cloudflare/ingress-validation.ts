// cloudflared's ingress validation (ingress/ingress.go `validateIngress`, reference
// §5.5), which the API runs on `PUT …/configurations`. Checks run in cloudflared's order
// and return its exact messages; the caller prefixes them with "Bad Configuration:
// Validation failed: ". Go's url.Parse, net.SplitHostPort and strconv.Atoi are
// re-implemented only as far as these checks need; path regexes go through the port of
// Go's regexp parser in re2-syntax.ts.
import { isObject, type JsonObject } from './input.js';
import { compileRe2 } from './re2-syntax.js';

export { compileRe2 };

const errNoIngressRules = "The config file doesn't contain any ingress rules";
const errLastRuleNotCatchAll =
  'The last ingress rule must match all URLs (i.e. it should not have a hostname or path filter)';
const errBadWildcard =
  'Hostname patterns can have at most one wildcard character ("*") and it can only be used for subdomains, e.g. "*.example.com"';
const errHostnameContainsPort = 'Hostname cannot contain a port';
const INT64_MAX = 9223372036854775807n;

/** JSON field types of cloudflared's OriginRequestConfig (durations are integer seconds). */
const originRequestTypes: Record<string, 'duration' | 'int' | 'bool' | 'string' | 'object' | 'array'> = {
  connectTimeout: 'duration',
  tlsTimeout: 'duration',
  tcpKeepAlive: 'duration',
  keepAliveTimeout: 'duration',
  keepAliveConnections: 'int',
  proxyPort: 'int',
  noHappyEyeballs: 'bool',
  noTLSVerify: 'bool',
  disableChunkedEncoding: 'bool',
  http2Origin: 'bool',
  matchSNItoHost: 'bool',
  bastionMode: 'bool',
  httpHostHeader: 'string',
  originServerName: 'string',
  caPool: 'string',
  proxyType: 'string',
  proxyAddress: 'string',
  access: 'object',
  ipRules: 'array',
};

/**
 * Validates a remote tunnel configuration (`{ingress, originRequest, warp-routing}`).
 * Returns cloudflared's error message, or null when cloudflared would accept it.
 */
export function validateIngressConfig(config: unknown): string | null {
  if (!isObject(config))
    return 'json: cannot unmarshal non-object into Go value of type ingress.RemoteConfigJSON';
  const decodeError = checkJsonTypes(config);
  if (decodeError) return decodeError;
  const ingress = config.ingress as JsonObject[] | undefined;
  if (!ingress || ingress.length === 0) return errNoIngressRules;
  const defaults = (config.originRequest as JsonObject | undefined) ?? {};

  for (const [i, rule] of ingress.entries()) {
    const service = (rule.service as string | undefined) ?? '';
    const hostname = (rule.hostname as string | undefined) ?? '';
    const path = (rule.path as string | undefined) ?? '';
    const originRequest = (rule.originRequest as JsonObject | undefined) ?? {};
    const bastionMode = (originRequest.bastionMode ?? defaults.bastionMode) === true;

    const serviceError = validateService(service, originRequest, bastionMode);
    if (serviceError) return serviceError;

    const access = originRequest.access as JsonObject | undefined;
    if (access && access.required === true) {
      const audTags = Array.isArray(access.audTag) ? access.audTag : [];
      if (!access.teamName && audTags.length > 0) {
        return 'access.TeamName cannot be blank when access.audTags are present';
      }
    }

    const hostnameError = validateHostname(hostname, path, i, ingress.length);
    if (hostnameError) return hostnameError;

    if (path !== '') {
      const regexError = compileRe2(path);
      if (regexError) return `Rule #${i + 1} has an invalid regex: ${regexError}`;
    }
  }
  return null;
}

function validateService(service: string, originRequest: JsonObject, bastionMode: boolean): string | null {
  if (service.startsWith('unix:') || service.startsWith('unix+tls:')) return null;
  if (service.startsWith('http_status:')) {
    const raw = service.slice('http_status:'.length);
    if (!/^[+-]?\d+$/.test(raw))
      return `invalid HTTP status code: strconv.Atoi: parsing ${goQuote(raw)}: invalid syntax`;
    const code = BigInt(raw); // Go's int is 64-bit
    if (code > INT64_MAX || code < -INT64_MAX - 1n)
      return `invalid HTTP status code: strconv.Atoi: parsing ${goQuote(raw)}: value out of range`;
    if (code < 100n || code > 999n) return `invalid HTTP status code: ${code}`;
    return null;
  }
  if (service === 'hello_world' || service === 'hello-world') return null;
  if (service === 'socks-proxy') {
    const ipRules = Array.isArray(originRequest.ipRules) ? originRequest.ipRules : [];
    for (const ipRule of ipRules) {
      const prefix = isObject(ipRule) && typeof ipRule.prefix === 'string' ? ipRule.prefix : '';
      if (!isCidr(prefix)) return `unable to create ip rule for ${service}: invalid CIDR address: ${prefix}`;
    }
    return null;
  }
  if (service === 'bastion' || bastionMode) return null;

  const parsed = parseGoUrl(service);
  if ('error' in parsed) return parsed.error;
  if (parsed.scheme === '' || parsed.hostname === '') {
    return `${service} is an invalid address, please make sure it has a scheme and a hostname`;
  }
  if (parsed.path !== '') {
    return `${service} is an invalid address, ingress rules don't support proxying to a different path on the origin service. The path will be the same as the eyeball request's path`;
  }
  return null;
}

function validateHostname(hostname: string, path: string, index: number, total: number): string | null {
  if (goSplitHostPortSucceeds(hostname)) return errHostnameContainsPort;
  if (hostname.lastIndexOf('*') > 0) return errBadWildcard;
  const isCatchAll = (hostname === '' || hostname === '*') && path === '';
  const isLast = index === total - 1;
  if (isLast && !isCatchAll) return errLastRuleNotCatchAll;
  if (!isLast && isCatchAll) {
    return `Rule #${index + 1} is matching the hostname '${hostname}', but this will match every hostname, meaning the rules which follow it will never be triggered.`;
  }
  return null;
}

/** Mirrors encoding/json's type errors for the fields cloudflared decodes. */
function checkJsonTypes(config: JsonObject): string | null {
  if (config.ingress !== undefined && config.ingress !== null) {
    if (!Array.isArray(config.ingress)) {
      return `json: cannot unmarshal ${jsonKind(config.ingress)} into Go struct field RemoteConfigJSON.ingress of type []config.UnvalidatedIngressRule`;
    }
    for (const rule of config.ingress) {
      if (!isObject(rule)) {
        return `json: cannot unmarshal ${jsonKind(rule)} into Go value of type config.UnvalidatedIngressRule`;
      }
      for (const key of ['hostname', 'service', 'path'] as const) {
        const value = rule[key];
        if (value !== undefined && value !== null && typeof value !== 'string') {
          return `json: cannot unmarshal ${jsonKind(value)} into Go struct field UnvalidatedIngressRule.ingress.${key} of type string`;
        }
      }
      const error = checkOriginRequest(rule.originRequest, 'UnvalidatedIngressRule.ingress.originRequest');
      if (error) return error;
    }
  }
  return checkOriginRequest(config.originRequest, 'RemoteConfigJSON.originRequest');
}

function checkOriginRequest(value: unknown, field: string): string | null {
  if (value === undefined || value === null) return null;
  if (!isObject(value)) {
    return `json: cannot unmarshal ${jsonKind(value)} into Go struct field ${field} of type config.OriginRequestConfig`;
  }
  for (const [key, item] of Object.entries(value)) {
    const type = originRequestTypes[key];
    if (!type || item === null) continue;
    const goType = {
      duration: 'config.CustomDuration',
      int: 'int',
      bool: 'bool',
      string: 'string',
      object: 'config.AccessConfig',
      array: 'slice',
    }[type];
    if (type === 'duration') {
      // cloudflared's CustomDuration.UnmarshalJSON runs strconv.ParseInt on the raw JSON.
      if (typeof item !== 'number' || !Number.isInteger(item)) {
        return `strconv.ParseInt: parsing ${goQuote(JSON.stringify(item))}: invalid syntax`;
      }
      continue;
    }
    const ok =
      (type === 'int' && typeof item === 'number' && Number.isInteger(item)) ||
      (type === 'bool' && typeof item === 'boolean') ||
      (type === 'string' && typeof item === 'string') ||
      (type === 'object' && isObject(item)) ||
      (type === 'array' && Array.isArray(item));
    if (!ok)
      return `json: cannot unmarshal ${jsonKind(item)} into Go struct field ${field}.${key} of type ${goType}`;
  }
  return null;
}

function jsonKind(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'object' : typeof value;
}

/** Go's %q for the ASCII strings that reach these messages. */
function goQuote(value: string): string {
  return JSON.stringify(value);
}

// --- Go net/url.Parse, reduced to what validateIngress looks at ----------------------

interface GoUrl {
  scheme: string;
  hostname: string;
  path: string;
}

export function parseGoUrl(raw: string): GoUrl | { error: string } {
  const withoutFragment = raw.split('#')[0] ?? '';
  const fail = (message: string) => ({ error: `parse ${goQuote(withoutFragment)}: ${message}` });
  if (/[\x00-\x1f\x7f]/.test(withoutFragment)) return fail('net/url: invalid control character in URL');
  if (withoutFragment === '*') return { scheme: '', hostname: '', path: '*' };

  const schemeResult = goScheme(withoutFragment);
  if ('error' in schemeResult) return fail(schemeResult.error);
  const scheme = schemeResult.scheme.toLowerCase();
  let rest = schemeResult.rest;
  rest = rest.endsWith('?') && rest.split('?').length === 2 ? rest.slice(0, -1) : (rest.split('?')[0] ?? '');

  if (!rest.startsWith('/')) {
    if (scheme !== '') return { scheme, hostname: '', path: '' }; // opaque URL, no host
    if ((rest.split('/')[0] ?? '').includes(':'))
      return fail('first path segment in URL cannot contain colon');
  }
  let host = '';
  if ((scheme !== '' || !rest.startsWith('///')) && rest.startsWith('//')) {
    let authority = rest.slice(2);
    rest = '';
    const slash = authority.indexOf('/');
    if (slash >= 0) {
      rest = authority.slice(slash);
      authority = authority.slice(0, slash);
    }
    const at = authority.lastIndexOf('@');
    const hostPart = at < 0 ? authority : authority.slice(at + 1);
    const hostResult = goParseHost(hostPart);
    if ('error' in hostResult) return fail(hostResult.error);
    host = hostResult.host;
  }
  const path = goUnescape(rest);
  if (path === undefined) return fail(`invalid URL escape ${goQuote(badEscape(rest))}`);
  return { scheme, hostname: goHostname(host), path };
}

function goScheme(raw: string): { scheme: string; rest: string } | { error: string } {
  for (let i = 0; i < raw.length; i += 1) {
    const c = raw[i] ?? '';
    if (/[a-zA-Z]/.test(c)) continue;
    if (/[0-9+\-.]/.test(c)) {
      if (i === 0) return { scheme: '', rest: raw };
      continue;
    }
    if (c === ':') {
      if (i === 0) return { error: 'missing protocol scheme' };
      return { scheme: raw.slice(0, i), rest: raw.slice(i + 1) };
    }
    return { scheme: '', rest: raw };
  }
  return { scheme: '', rest: raw };
}

function validOptionalPort(port: string): boolean {
  return port === '' || /^:\d*$/.test(port);
}

function goParseHost(host: string): { host: string } | { error: string } {
  if (host.startsWith('[')) {
    const close = host.lastIndexOf(']');
    if (close < 0) return { error: "missing ']' in host" };
    const colonPort = host.slice(close + 1);
    if (!validOptionalPort(colonPort)) return { error: `invalid port ${goQuote(colonPort)} after host` };
  } else {
    const colon = host.lastIndexOf(':');
    if (colon !== -1) {
      const colonPort = host.slice(colon);
      if (!validOptionalPort(colonPort)) return { error: `invalid port ${goQuote(colonPort)} after host` };
    }
  }
  const bad = /[^A-Za-z0-9\-._~!$&'()*+,;=:[\]<>"%]/.exec(host);
  if (bad) return { error: `invalid character ${goQuote(bad[0])} in host name` };
  const unescaped = goUnescape(host);
  if (unescaped === undefined) return { error: `invalid URL escape ${goQuote(badEscape(host))}` };
  return { host: unescaped };
}

function goHostname(host: string): string {
  const colon = host.lastIndexOf(':');
  let name = colon !== -1 && validOptionalPort(host.slice(colon)) ? host.slice(0, colon) : host;
  if (name.startsWith('[') && name.endsWith(']')) name = name.slice(1, -1);
  return name;
}

function goUnescape(value: string): string | undefined {
  if (/%(?![0-9a-fA-F]{2})/.test(value)) return undefined;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function badEscape(value: string): string {
  const index = value.search(/%(?![0-9a-fA-F]{2})/);
  return value.slice(index, index + 3);
}

/** Go's net.SplitHostPort, reporting only whether it succeeds. */
function goSplitHostPortSucceeds(hostport: string): boolean {
  const i = hostport.lastIndexOf(':');
  if (i < 0) return false;
  let j = 0;
  let k = 0;
  if (hostport.startsWith('[')) {
    const end = hostport.indexOf(']');
    if (end < 0) return false;
    if (end + 1 === hostport.length) return false;
    if (end + 1 !== i) return false;
    j = 1;
    k = end + 1;
  } else if (hostport.slice(0, i).includes(':')) {
    return false;
  }
  if (hostport.slice(j).includes('[')) return false;
  if (hostport.slice(k).includes(']')) return false;
  return true;
}

function isCidr(prefix: string): boolean {
  const match = /^(.+)\/(\d{1,3})$/.exec(prefix);
  if (!match) return false;
  const [, address = '', bits = ''] = match;
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(address)) {
    return address.split('.').every((part) => Number(part) <= 255) && Number(bits) <= 32;
  }
  return address.includes(':') && /^[0-9a-fA-F:.]+$/.test(address) && Number(bits) <= 128;
}
