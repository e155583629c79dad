/**
 * A route's protection as Cloudflare Access policies, one application per route, so that no
 * route's protection is shared with another's (a user can never weaken, reorder or block
 * another's): pure functions of the route, tested in access-policies.test.ts.
 *
 * - TCP-like route: Service Auth (`non_identity`) admitting only the route's service token.
 * - HTTP route with Access for people: an Allow policy for the emails and email domains.
 * - Either, with an allow-list: one such policy per listed range, each requiring that range
 *   (Access's `require` is AND across rules, and an `ip` rule holds one range).
 * - HTTP route with only an allow-list: a Bypass policy including the listed ranges; any other
 *   source meets Access with no policy admitting it and is refused.
 *
 * Access evaluates Bypass and Service Auth before Allow and Block, and refuses what no policy
 * admits: a route is never reachable beyond what its owner asked for.
 */
import { createHash } from 'node:crypto';
import { DEFAULT_SESSION_DURATION, type AccessRule } from './model.js';

export type AccessRuleItem =
  | { ip: { ip: string } }
  | { email: { email: string } }
  | { email_domain: { domain: string } }
  | { service_token: { token_id: string } }
  | { oidc: { claim_name: string; claim_value: string; identity_provider_id: string } };

export interface AccessPolicySpec {
  name: string;
  decision: 'allow' | 'non_identity' | 'bypass';
  include: AccessRuleItem[];
  require?: AccessRuleItem[];
}

export interface ProtectedRoute {
  tcpLike: boolean;
  allowIps: readonly string[] | null;
  access: AccessRule | null;
}

export const SERVICE_TOKEN_POLICY = 'tunnelplane service token';
export const PEOPLE_POLICY = 'tunnelplane allowed people';
export const ALLOW_LIST_POLICY = 'tunnelplane allow-list';

/** The policies of a route's application; `tokenId` is the TCP route's service token. */
export function accessPolicies(route: ProtectedRoute, tokenId: string | null): AccessPolicySpec[] {
  const ranges = route.allowIps ?? [];
  const within = (base: Omit<AccessPolicySpec, 'require'>): AccessPolicySpec[] =>
    ranges.length === 0
      ? [base]
      : ranges.map((ip) => ({ ...base, name: `${base.name} from ${ip}`, require: [{ ip: { ip } }] }));
  if (route.tcpLike) {
    if (!tokenId) return [];
    return within({
      name: SERVICE_TOKEN_POLICY,
      decision: 'non_identity',
      include: [{ service_token: { token_id: tokenId } }],
    });
  }
  if (route.access) {
    const people: AccessRuleItem[] = [
      ...route.access.emails.map((email) => ({ email: { email } })),
      ...route.access.emailDomains.map((domain) => ({ email_domain: { domain } })),
      ...groupRules(route.access),
    ];
    return within({ name: PEOPLE_POLICY, decision: 'allow', include: people });
  }
  if (ranges.length > 0)
    return [{ name: ALLOW_LIST_POLICY, decision: 'bypass', include: ranges.map((ip) => ({ ip: { ip } })) }];
  return [];
}

/** One OIDC-claim rule per group, read by the Access identity provider the route names. */
function groupRules(access: AccessRule): AccessRuleItem[] {
  const idp = access.idp;
  if (!idp || !access.groups) return [];
  return access.groups.map((g) => ({
    oidc: { claim_name: idp.claim, claim_value: g, identity_provider_id: idp.id },
  }));
}

/** The application's settings beside its policies. */
export interface AccessAppSettings {
  sessionDuration: string;
}

export const appSettings = (access: AccessRule | null): AccessAppSettings => ({
  sessionDuration: access?.sessionDuration ?? DEFAULT_SESSION_DURATION,
});

/**
 * A hash of the application as it is applied: its policies (precedence is their order) and,
 * when not the default, its session length (so hashes recorded before it existed still hold).
 */
export function policiesHash(
  policies: readonly AccessPolicySpec[],
  settings: AccessAppSettings = { sessionDuration: DEFAULT_SESSION_DURATION },
): string {
  const canonical: unknown[] = policies.map((p) => ({
    name: p.name,
    decision: p.decision,
    include: p.include,
    require: p.require ?? [],
  }));
  if (settings.sessionDuration !== DEFAULT_SESSION_DURATION) canonical.push(settings);
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex').slice(0, 32);
}
