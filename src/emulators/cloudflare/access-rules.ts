// Validation of Access policy rule lists (`include` OR, `require` AND, `exclude` NOT), the
// one place a raw rule becomes an accepted one. Each rule is an object with exactly one key
// naming its kind (the wire keys of the SDK 7.3.0 `AccessRuleParam` union). The kinds the
// emulator evaluates are checked strictly: `ip` (one address or CIDR, see ip-address.ts),
// `email`, `email_domain`, `everyone`, `service_token` (an existing token of the account),
// `any_valid_service_token` and `oidc` (a claim of an identity provider's login); the other known kinds need only an object body; unknown
// kinds are refused. Errors name the list, the index and the broken part.
import { apiErrors } from './errors.js';
import { isObject } from './input.js';
import { parseIpNetwork } from './ip-address.js';

/** Every rule kind the SDK 7.3.0 knows (its wire key). */
const RULE_KINDS = new Set([
  'any_valid_service_token',
  'auth_context',
  'auth_method',
  'azureAD',
  'certificate',
  'cloudflare_account_member',
  'common_name',
  'device_posture',
  'email',
  'email_domain',
  'email_list',
  'everyone',
  'external_evaluation',
  'geo',
  'github-organization',
  'group',
  'gsuite',
  'ip',
  'ip_list',
  'linked_app_token',
  'login_method',
  'oidc',
  'okta',
  'saml',
  'service_token',
  'user_risk_score',
]);

/** The kinds `evaluateAccess` understands; every other kind never matches there. */
export const EVALUATED_RULE_KINDS = [
  'ip',
  'email',
  'email_domain',
  'everyone',
  'service_token',
  'any_valid_service_token',
  'oidc',
] as const;

const DOMAIN =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/i;
// No spaces, no "@" and no control characters (NUL included) in the local part.
const EMAIL_LOCAL = /^[^\s@\p{Cc}]{1,64}$/u;

export interface RuleListOptions {
  /** At least one rule (true for `include`). */
  required: boolean;
  /** Whether a service token with this id exists in the policy's account. */
  serviceTokenExists(id: string): boolean;
  ipsPerRule: number;
  emailsPerRule: number;
}

function checkString(value: unknown, at: string): string {
  if (typeof value !== 'string' || value === '') throw apiErrors.accessInvalid(`${at} is required`);
  return value;
}

function checkRule(rule: unknown, at: string, opts: RuleListOptions): void {
  const keys = isObject(rule) ? Object.keys(rule) : [];
  const [kind = ''] = keys;
  if (!isObject(rule) || keys.length !== 1) {
    throw apiErrors.accessInvalid(`${at} must be an object with exactly one rule type`);
  }
  if (!RULE_KINDS.has(kind)) throw apiErrors.accessInvalid(`${at}: unknown rule type "${kind}"`);
  const inner = rule[kind];
  if (!isObject(inner)) throw apiErrors.accessInvalid(`${at}.${kind} must be an object`);
  switch (kind) {
    case 'ip': {
      const text = checkString(inner.ip, `${at}.ip.ip`);
      const parsed = parseIpNetwork(text);
      if (!parsed.ok) {
        throw apiErrors.accessInvalid(
          `${at}.ip.ip "${text}" is not an IPv4 or IPv6 address or CIDR block: ${parsed.problem.reason}`,
        );
      }
      break;
    }
    case 'email': {
      const text = checkString(inner.email, `${at}.email.email`);
      const sign = text.lastIndexOf('@');
      if (sign < 0 || !EMAIL_LOCAL.test(text.slice(0, sign)) || !DOMAIN.test(text.slice(sign + 1))) {
        throw apiErrors.accessInvalid(`${at}.email.email "${text}" is not an email address`);
      }
      break;
    }
    case 'email_domain': {
      const text = checkString(inner.domain, `${at}.email_domain.domain`);
      if (!DOMAIN.test(text)) {
        throw apiErrors.accessInvalid(
          `${at}.email_domain.domain "${text}" is not a domain name (give it without "@", e.g. example.com)`,
        );
      }
      break;
    }
    case 'oidc':
      // SDK AccessOIDCClaimRule: all three are required strings.
      for (const field of ['claim_name', 'claim_value', 'identity_provider_id'])
        checkString(inner[field], `${at}.oidc.${field}`);
      break;
    case 'service_token': {
      const id = checkString(inner.token_id, `${at}.service_token.token_id`);
      if (!opts.serviceTokenExists(id))
        throw apiErrors.accessInvalid(`${at}: service token ${id} does not exist`);
      break;
    }
    case 'geo':
      checkString(inner.country_code, `${at}.geo.country_code`);
      break;
    default:
      break;
  }
}

/**
 * The rule list `value` of `field` (`include`, `require` or `exclude`, with a prefix for
 * inline policies), checked; throws a 400 naming the first broken rule.
 */
export function readRuleList(value: unknown, field: string, opts: RuleListOptions): unknown[] {
  if (value === undefined || value === null) {
    if (opts.required) throw apiErrors.accessInvalid(`${field} is required`);
    return [];
  }
  if (!Array.isArray(value)) throw apiErrors.accessInvalid(`${field} must be an array of rules`);
  if (opts.required && value.length === 0) {
    throw apiErrors.accessInvalid(`${field} must contain at least one rule`);
  }
  value.forEach((rule, i) => checkRule(rule, `${field}[${i}]`, opts));
  const count = (kind: string) => value.filter((r) => isObject(r) && kind in r).length;
  if (count('ip') > opts.ipsPerRule) throw apiErrors.accessIpsPerRule(field, opts.ipsPerRule);
  if (count('email') > opts.emailsPerRule) throw apiErrors.accessEmailsPerRule(field, opts.emailsPerRule);
  return value;
}

/** Rules a policy holds: its include, require and exclude entries together. */
export function ruleCount(policyFields: Record<string, unknown>): number {
  return ['include', 'require', 'exclude'].reduce((n, key) => {
    const list = policyFields[key];
    return n + (Array.isArray(list) ? list.length : 0);
  }, 0);
}
