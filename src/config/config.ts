/**
 * Loading the configuration: defaults → YAML file → the proof of concept's `secret/` layout →
 * `TUNNELPLANE_*` environment → flags, merged key by key and parsed once by configSchema
 * (config-schema.ts); the origin certificate then fills in account, zone and token. Every problem
 * is reported at start with the key that caused it; the result is frozen and passed in, never
 * read globally.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { configSchema, type ServerConfig } from './config-schema.js';
import { configuredZones } from './zones.js';
import { ENV } from './env-vars.js';
import { parseOriginCert } from './origin-cert.js';

export { configSchema } from './config-schema.js';
export type { ServerConfig } from './config-schema.js';

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

type Raw = Record<string, unknown>;

function setPath(target: Raw, path: string, value: unknown) {
  const keys = path.split('.');
  let node = target;
  for (const k of keys.slice(0, -1)) {
    if (typeof node[k] !== 'object' || node[k] === null) node[k] = {};
    node = node[k] as Raw;
  }
  node[keys[keys.length - 1]!] = value;
}

function merge(base: Raw, over: Raw): Raw {
  const out: Raw = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    const b = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b)
        ? merge(b as Raw, v as Raw)
        : v;
  }
  return out;
}

/**
 * Reads the proof of concept's `secret/` folder: users.json and cloudflare.yaml (`zone`, `token`,
 * `cert`, `dns_suffix`, `kubeconfig`, `namespace`). Paths inside are relative to the folder's
 * parent, as the proof of concept ran from there.
 */
export function readSecretDir(dir: string, problems: string[]): Raw {
  const out: Raw = {};
  const base = dirname(resolve(dir));
  const usersFile = resolve(dir, 'users.json');
  if (existsSync(usersFile)) setPath(out, 'users.file', usersFile);
  const cfFile = resolve(dir, 'cloudflare.yaml');
  if (existsSync(cfFile)) {
    let doc: Raw;
    try {
      doc = (parseYaml(readFileSync(cfFile, 'utf8')) ?? {}) as Raw;
    } catch (err) {
      problems.push(`${cfFile}: not valid YAML (${(err as Error).message})`);
      return out;
    }
    const rel = (p: unknown) =>
      typeof p === 'string' && p ? (isAbsolute(p) ? p : resolve(base, p)) : undefined;
    if (doc.zone) setPath(out, 'cloudflare.zoneName', String(doc.zone));
    if (doc.token) setPath(out, 'cloudflare.apiToken', String(doc.token));
    if (doc.cert) setPath(out, 'cloudflare.cert', rel(doc.cert));
    if (doc.kubeconfig) setPath(out, 'kubernetes.kubeconfig', rel(doc.kubeconfig));
    if (doc.namespace) setPath(out, 'kubernetes.namespace', String(doc.namespace));
    if (doc.dns_suffix && doc.zone && String(doc.dns_suffix) !== String(doc.zone)) {
      problems.push(
        `${cfFile}: dns_suffix (${String(doc.dns_suffix)}) must equal zone (${String(doc.zone)}); hostnames are always one label under the zone`,
      );
    }
  }
  return out;
}

export interface LoadConfigInput {
  file?: string;
  secretDir?: string;
  env?: Record<string, string | undefined>;
  /** Already-parsed flags, as dotted paths (`listen.port`). */
  flags?: Record<string, unknown>;
  /** Base layer under the file (used by `dev`). */
  defaults?: Raw;
}

export function loadConfig(input: LoadConfigInput = {}): Readonly<ServerConfig> {
  const problems: string[] = [];
  let raw: Raw = input.defaults ?? {};
  if (input.file) {
    try {
      const doc = parseYaml(readFileSync(input.file, 'utf8')) as unknown;
      if (doc !== null && doc !== undefined && (typeof doc !== 'object' || Array.isArray(doc))) {
        problems.push(`${input.file}: the top level must be a mapping`);
      } else raw = merge(raw, (doc ?? {}) as Raw);
    } catch (err) {
      problems.push(
        `${input.file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message}`,
      );
    }
  }
  if (input.secretDir) {
    if (!existsSync(input.secretDir)) problems.push(`secret directory ${input.secretDir}: not found`);
    else raw = merge(raw, readSecretDir(input.secretDir, problems));
  }
  const envLayer: Raw = {};
  for (const [name, path] of Object.entries(ENV)) {
    const v = input.env?.[name];
    if (v !== undefined && v !== '') setPath(envLayer, path, v);
  }
  raw = merge(raw, envLayer);
  const flagLayer: Raw = {};
  for (const [path, v] of Object.entries(input.flags ?? {})) if (v !== undefined) setPath(flagLayer, path, v);
  raw = merge(raw, flagLayer);

  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues)
      problems.push(`${issue.path.join('.') || '(top level)'}: ${issue.message}`);
    // The checks below need a parsed config; report what the raw values already show too.
    const cf = (raw.cloudflare ?? {}) as Raw;
    if (!cf.apiToken && !cf.cert)
      problems.push(
        'cloudflare.apiToken: required (or cloudflare.cert, the origin certificate from `cloudflared tunnel login`)',
      );
    if (!cf.zoneName && !cf.zoneId && !cf.zones)
      problems.push('cloudflare.zoneName: required (the DNS zone routes live under)');
    if (typeof raw.secretKey === 'string' && Buffer.from(raw.secretKey, 'base64').length !== 32) {
      problems.push('secretKey: must be 32 bytes, base64-encoded (e.g. `openssl rand -base64 32`)');
    }
    throw new ConfigError([...new Set(problems)]);
  }
  const config = parsed.data;

  // The origin certificate fills in what is not given explicitly.
  if (config.cloudflare.cert) {
    try {
      const cert = parseOriginCert(readFileSync(config.cloudflare.cert, 'utf8'));
      if (cert.accountID) config.cloudflare.accountId ??= cert.accountID;
      config.cloudflare.zoneId ??= cert.zoneID;
      config.cloudflare.apiToken ??= cert.apiToken;
    } catch (err) {
      problems.push(`cloudflare.cert (${config.cloudflare.cert}): ${(err as Error).message}`);
    }
  }
  // A webhook's secret may live in a file (a mounted Secret): read once, here.
  config.webhooks.forEach((w, i) => {
    if (!w.secretFile) return;
    try {
      const secret = readFileSync(w.secretFile, 'utf8').trim();
      if (secret.length < 16)
        problems.push(
          `webhooks.${i}.secretFile (${w.secretFile}): the secret must be at least 16 characters`,
        );
      else w.secret = secret;
    } catch (err) {
      problems.push(`webhooks.${i}.secretFile (${w.secretFile}): ${(err as Error).message}`);
    }
  });
  if (!config.cloudflare.apiToken)
    problems.push(
      'cloudflare.apiToken: required (or cloudflare.cert, the origin certificate from `cloudflared tunnel login`)',
    );
  if (!config.cloudflare.zoneName && !config.cloudflare.zoneId && config.cloudflare.zones.length === 0)
    problems.push('cloudflare.zoneName: required (the DNS zone routes live under)');
  problems.push(...configuredZones(config.cloudflare).problems);
  if (config.tls && (!existsSync(config.tls.cert) || !existsSync(config.tls.key))) {
    problems.push(`tls: certificate ${config.tls.cert} or key ${config.tls.key} not found`);
  }
  if (config.users.file && !existsSync(config.users.file))
    problems.push(`users.file: ${config.users.file} not found`);
  if (config.secretKey && Buffer.from(config.secretKey, 'base64').length !== 32) {
    problems.push('secretKey: must be 32 bytes, base64-encoded (e.g. `openssl rand -base64 32`)');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(config);
}

function deepFreeze<T>(o: T): Readonly<T> {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
