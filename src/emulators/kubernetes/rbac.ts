/**
 * Bearer-token authentication and RBAC-like authorization. The admin token may do anything;
 * every other token is bound to one namespace with Role rules (apiGroups × resources × verbs,
 * optional resourceNames), exactly as a RoleBinding to a Role would be: nothing at cluster
 * scope, nothing in other namespaces. Discovery is open to every authenticated user.
 */
import { randomBytes } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import type { JsonValue } from './json.js';
import { isObject, objectAt, stringAt } from './json.js';

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

/** A Role (or ClusterRole) object, or just `{ rules }`, as an object or YAML/JSON text. */
export type RoleInput = string | { metadata?: { name?: string; namespace?: string }; rules: PolicyRule[] };

export interface Identity {
  token: string;
  /** `kubernetes-admin` or `system:serviceaccount:<namespace>:<name>`. */
  user: string;
  admin: boolean;
  /** The namespace a non-admin token's rules apply in. */
  namespace?: string;
  rules: PolicyRule[];
}

export interface RequestAttributes {
  verb: string;
  group: string;
  resource: string;
  /** `scale` for `deployments/scale`; rules name such resources as `deployments/scale`. */
  subresource?: string;
  namespace?: string;
  name?: string;
}

export const ADMIN_USER = 'kubernetes-admin';
export const DEFAULT_SERVICE_ACCOUNT = 'tunnel-control-plane';

export function isAllowed(identity: Identity, attrs: RequestAttributes): boolean {
  if (identity.admin) return true;
  if (!attrs.namespace || attrs.namespace !== identity.namespace) return false;
  return identity.rules.some((rule) => ruleAllows(rule, attrs));
}

function matches(list: string[], value: string): boolean {
  return list.includes('*') || list.includes(value);
}

function ruleAllows(rule: PolicyRule, attrs: RequestAttributes): boolean {
  if (!matches(rule.apiGroups, attrs.group)) return false;
  if (!matches(rule.resources, fullResource(attrs))) return false;
  if (!matches(rule.verbs, attrs.verb)) return false;
  if (rule.resourceNames && rule.resourceNames.length > 0)
    return attrs.name !== undefined && rule.resourceNames.includes(attrs.name);
  return true;
}

function fullResource(attrs: RequestAttributes): string {
  return attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
}

/** The reason text of a 403, as the real authorizer words it. */
export function forbiddenReason(user: string, attrs: RequestAttributes): string {
  const scope = attrs.namespace
    ? `in the namespace ${JSON.stringify(attrs.namespace)}`
    : 'at the cluster scope';
  return `User ${JSON.stringify(user)} cannot ${attrs.verb} resource ${JSON.stringify(fullResource(attrs))} in API group ${JSON.stringify(attrs.group)} ${scope}`;
}

function stringList(value: JsonValue | undefined, field: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string'))
    throw new Error(`${field} must be a list of strings`);
  return value as string[];
}

/** Parses and checks a rule list (throws `Error` with the offending rule index). */
export function parseRules(value: unknown): PolicyRule[] {
  if (!Array.isArray(value)) throw new Error('rules must be a list');
  return value.map((raw, i) => {
    if (!isObject(raw)) throw new Error(`rules[${i}] must be an object`);
    const rule: PolicyRule = {
      apiGroups: stringList(raw['apiGroups'], `rules[${i}].apiGroups`),
      resources: stringList(raw['resources'], `rules[${i}].resources`),
      verbs: stringList(raw['verbs'], `rules[${i}].verbs`),
    };
    if (rule.verbs.length === 0) throw new Error(`rules[${i}].verbs: Required value`);
    const names = stringList(raw['resourceNames'], `rules[${i}].resourceNames`);
    if (names.length > 0) rule.resourceNames = names;
    return rule;
  });
}

export interface ParsedRole {
  name?: string;
  namespace?: string;
  rules: PolicyRule[];
}

export function parseRole(input: RoleInput): ParsedRole {
  const doc: unknown = typeof input === 'string' ? parseYaml(input) : input;
  if (!isObject(doc)) throw new Error('role must be an object with rules');
  const kind = stringAt(doc, 'kind');
  if (kind !== undefined && kind !== 'Role' && kind !== 'ClusterRole')
    throw new Error(`expected a Role, got kind ${kind}`);
  const meta = objectAt(doc, 'metadata');
  const parsed: ParsedRole = { rules: parseRules(doc['rules']) };
  const name = stringAt(meta, 'name');
  const namespace = stringAt(meta, 'namespace');
  if (name) parsed.name = name;
  if (namespace) parsed.namespace = namespace;
  return parsed;
}

export interface AddTokenFields {
  token?: string;
  namespace: string;
  rules: PolicyRule[];
  /** Service account name for the user string; defaults to the Role's name or `tunnel-control-plane`. */
  serviceAccount?: string;
  /** Full user name, overriding the service-account form. */
  user?: string;
}

export interface TokenRegistry {
  authenticate(token: string): Identity | undefined;
  add(fields: AddTokenFields): Identity;
  list(): Identity[];
  /** Forgets every token except the admin one. */
  reset(): void;
  readonly adminToken: string;
}

export function newToken(prefix = 'emu'): string {
  return `${prefix}-${randomBytes(16).toString('hex')}`;
}

export function createTokenRegistry(adminToken: string): TokenRegistry {
  const admin: Identity = { token: adminToken, user: ADMIN_USER, admin: true, rules: [] };
  const tokens = new Map<string, Identity>([[adminToken, admin]]);
  return {
    adminToken,
    authenticate: (token) => tokens.get(token),
    add(fields) {
      const token = fields.token ?? newToken('sa');
      if (tokens.get(token)?.admin) throw new Error('cannot redefine the admin token');
      const account = fields.serviceAccount ?? DEFAULT_SERVICE_ACCOUNT;
      const identity: Identity = {
        token,
        user: fields.user ?? `system:serviceaccount:${fields.namespace}:${account}`,
        admin: false,
        namespace: fields.namespace,
        rules: fields.rules,
      };
      tokens.set(token, identity);
      return identity;
    },
    list: () => [...tokens.values()],
    reset() {
      tokens.clear();
      tokens.set(adminToken, admin);
    },
  };
}
