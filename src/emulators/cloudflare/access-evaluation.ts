// What Cloudflare Access would decide for one request to an application, computed from the
// emulator's state without side effects (the emulator has no data plane; tests use this to
// assert protection). Semantics, from developers.cloudflare.com/cloudflare-one/access-controls/
// policies/ ("order of execution") and the service-token guide:
// - Bypass and Service Auth (`non_identity`) policies are evaluated first, in precedence
//   order; they see no identity, so only non-identity rules (ip, service tokens, everyone)
//   can match there. The first match admits the request.
// - Then Allow and Block (`deny`) policies, in precedence order, against the identity the
//   user logged in with; the first match decides. Service tokens do not count here (Access
//   sends such clients to the IdP login instead). Without an identity they cannot be
//   evaluated: the verdict is `login_required`.
// - A policy matches when any include rule, every require rule and no exclude rule matches.
// - Nothing matched: denied (applications are deny by default).
import type { EmulatorState, ServiceTokenRow } from './state.js';
import { ControlError } from './errors.js';
import { isObject } from './input.js';
import { networkContains, parseIpAddress, parseIpNetwork, type IpNetwork } from './ip-address.js';

/** One request as Access would see it. */
export interface AccessRequest {
  /** Source IP address (IPv4 or IPv6). */
  ip: string;
  /** The service token presented as `CF-Access-Client-Id` / `CF-Access-Client-Secret`. */
  serviceToken?: { clientId: string; clientSecret: string };
  /** The email the user logged in with at the identity provider, if they did. */
  email?: string;
  /** The OIDC claims the identity provider (`idp`, its id) gave at that login: `{groups: ['platform']}`. */
  oidc?: { idp: string; claims: Record<string, string[]> };
  /** When the request is made (default now); a service token past `expires_at` is invalid. */
  at?: string | number | Date;
}

export type AccessOutcome =
  | 'bypass' // a bypass policy matched: admitted without authentication
  | 'service_auth' // a non_identity policy matched: admitted
  | 'allow' // an allow policy matched the identity: admitted
  | 'deny' // a deny policy matched the identity: refused
  | 'login_required' // only identity policies are left and the request has no identity: refused
  | 'no_policy_matched'; // refused

export interface AccessVerdict {
  admitted: boolean;
  outcome: AccessOutcome;
  /** The policy that decided; null for `login_required` and `no_policy_matched`. */
  policy: { id: string; name: string; decision: string; precedence: number } | null;
}

/** A policy linked to an application, as evaluation sees it. */
export interface AppPolicyView {
  id: string;
  name: string;
  decision: string;
  precedence: number;
  /** false for the application's own (app-scoped) policies. */
  reusable: boolean;
  include: unknown[];
  require: unknown[];
  exclude: unknown[];
}

/** What the rules are evaluated against: the parsed request, its valid token, its identity. */
interface RequestFacts {
  ip: IpNetwork;
  token: ServiceTokenRow | undefined;
  email: string | undefined;
  oidc: AccessRequest['oidc'];
}

function findApp(state: EmulatorState, app: string) {
  const byId = state.accessApps.find((a) => a.id === app);
  if (byId) return byId;
  const byDomain = state.accessApps.filter((a) => a.fields.domain === app);
  if (byDomain.length > 1)
    throw new ControlError(`several Access applications have domain ${app}; name one by id`);
  if (!byDomain[0]) throw new ControlError(`unknown Access application ${app} (give its id or domain)`, 404);
  return byDomain[0];
}

const list = (value: unknown): unknown[] => (Array.isArray(value) ? [...(value as unknown[])] : []);

/** The policies linked to `app` (its id or its `domain`), in precedence order, as copies. */
export function appPolicies(state: EmulatorState, app: string): AppPolicyView[] {
  const row = findApp(state, app);
  return row.policies.flatMap((link) => {
    const policy = state.accessPolicies.find((p) => p.id === link.policyId);
    if (!policy) return [];
    const { fields } = policy;
    return [
      structuredClone({
        id: policy.id,
        name: String(fields.name ?? ''),
        decision: String(fields.decision ?? ''),
        precedence: link.precedence,
        reusable: policy.appId === null,
        include: list(fields.include),
        require: list(fields.require),
        exclude: list(fields.exclude),
      }),
    ];
  });
}

function validToken(
  state: EmulatorState,
  accountId: string,
  presented: AccessRequest['serviceToken'],
  at: number,
): ServiceTokenRow | undefined {
  if (!presented) return undefined;
  const token = state.serviceTokens.find(
    (t) => t.accountId === accountId && t.clientId === presented.clientId,
  );
  if (!token || token.clientSecret !== presented.clientSecret) return undefined;
  if (token.expiresAt !== null && Date.parse(token.expiresAt) <= at) return undefined;
  return token;
}

/** Whether one rule matches; `identity` says which phase (identity rules only match there). */
function ruleMatches(rule: unknown, facts: RequestFacts, identity: boolean): boolean {
  if (!isObject(rule)) return false;
  const [kind = ''] = Object.keys(rule);
  const inner = isObject(rule[kind]) ? rule[kind] : {};
  switch (kind) {
    case 'everyone':
      return true;
    case 'ip': {
      const network = parseIpNetwork(String(inner.ip));
      return network.ok && networkContains(network.network, facts.ip);
    }
    case 'service_token':
      return !identity && facts.token !== undefined && facts.token.id === inner.token_id;
    case 'any_valid_service_token':
      return !identity && facts.token !== undefined;
    case 'email':
      return (
        identity &&
        facts.email !== undefined &&
        facts.email.toLowerCase() === String(inner.email).toLowerCase()
      );
    case 'email_domain':
      return (
        identity &&
        facts.email !== undefined &&
        facts.email.slice(facts.email.lastIndexOf('@') + 1).toLowerCase() ===
          String(inner.domain).toLowerCase()
      );
    case 'oidc':
      return (
        identity &&
        facts.oidc !== undefined &&
        facts.oidc.idp === inner.identity_provider_id &&
        (facts.oidc.claims[String(inner.claim_name)] ?? []).includes(String(inner.claim_value))
      );
    default:
      return false; // kinds the emulator cannot evaluate (Access groups, geo…)
  }
}

function policyMatches(policy: AppPolicyView, facts: RequestFacts, identity: boolean): boolean {
  const matches = (rule: unknown) => ruleMatches(rule, facts, identity);
  return policy.include.some(matches) && policy.require.every(matches) && !policy.exclude.some(matches);
}

/** Would Access admit `request` to `app` (its id or domain)? Pure: reads `state` only. */
export function evaluateAccess(state: EmulatorState, app: string, request: AccessRequest): AccessVerdict {
  const row = findApp(state, app);
  const ip = parseIpAddress(String(request.ip));
  if (!ip.ok) throw new ControlError(`ip must be one IPv4 or IPv6 address: ${ip.problem.reason}`);
  const at = request.at === undefined ? Date.now() : new Date(request.at).getTime();
  if (Number.isNaN(at)) throw new ControlError('at must be a date');
  const facts: RequestFacts = {
    ip: ip.network,
    token: validToken(state, row.accountId, request.serviceToken, at),
    email: request.email,
    oidc: request.oidc,
  };
  const verdict = (policy: AppPolicyView, outcome: AccessOutcome): AccessVerdict => ({
    admitted: outcome !== 'deny',
    outcome,
    policy: { id: policy.id, name: policy.name, decision: policy.decision, precedence: policy.precedence },
  });

  const policies = appPolicies(state, row.id);
  for (const policy of policies.filter((p) => p.decision === 'bypass' || p.decision === 'non_identity')) {
    if (policyMatches(policy, facts, false)) {
      return verdict(policy, policy.decision === 'bypass' ? 'bypass' : 'service_auth');
    }
  }
  const identityPolicies = policies.filter((p) => p.decision === 'allow' || p.decision === 'deny');
  if (identityPolicies.length > 0 && facts.email === undefined) {
    return { admitted: false, outcome: 'login_required', policy: null };
  }
  for (const policy of identityPolicies) {
    if (policyMatches(policy, facts, true))
      return verdict(policy, policy.decision === 'allow' ? 'allow' : 'deny');
  }
  return { admitted: false, outcome: 'no_policy_matched', policy: null };
}
