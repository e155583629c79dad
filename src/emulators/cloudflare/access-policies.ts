// Access policies: reading and rendering policy bodies (reusable, app-scoped or inline),
// the rules-per-application limit, and the routes for an application's policies
// (`/apps/:app/policies`) and for reusable policies (`/policies`). A reusable policy still
// linked to an application cannot be deleted; reusable policies are not changed or deleted
// through an application's routes.
import type { AccessLimits } from './access-limits.js';
import { readRuleList, ruleCount } from './access-rules.js';
import { ACCESS_PAGES, checkDuration, invalid, type AccessContext } from './access-shared.js';
import { apiErrors } from './errors.js';
import { timestamp, uuid } from './ids.js';
import { pageRequest, paginate, type JsonObject } from './input.js';
import { route, type Route, type RouteContext } from './router.js';
import type { AccessAppRow, AccessPolicyRow, Store } from './state.js';

const DECISIONS = new Set(['allow', 'deny', 'non_identity', 'bypass']);

/**
 * Reads a policy body (reusable, app-scoped or inline); `at` prefixes field names in errors
 * (e.g. `policies[0].` for an inline policy).
 */
export function readPolicy(
  store: Store,
  accountId: string,
  body: JsonObject,
  limits: AccessLimits,
  at = '',
): Record<string, unknown> {
  const {
    name,
    decision,
    include,
    exclude,
    require: requireRules,
    session_duration,
    precedence: _p,
    id: _id,
    ...rest
  } = body;
  if (typeof name !== 'string' || name.trim() === '') throw invalid(`${at}name is required`);
  if (typeof decision !== 'string' || !DECISIONS.has(decision)) {
    throw invalid(`${at}decision must be one of: allow, deny, non_identity, bypass`);
  }
  const sessionDuration = checkDuration(session_duration, `${at}session_duration`);
  const rules = (value: unknown, field: string, required: boolean) =>
    readRuleList(value, `${at}${field}`, {
      required,
      serviceTokenExists: (id) =>
        store.state.serviceTokens.some((t) => t.id === id && t.accountId === accountId),
      ipsPerRule: limits.ipsPerRule,
      emailsPerRule: limits.emailsPerRule,
    });
  return {
    ...rest,
    name,
    decision,
    include: rules(include, 'include', true),
    exclude: rules(exclude, 'exclude', false),
    require: rules(requireRules, 'require', false),
    ...(sessionDuration ? { session_duration: sessionDuration } : {}),
  };
}

/** Rules over every policy linked to `app`. */
export function appRuleCount(store: Store, app: AccessAppRow): number {
  return app.policies.reduce((n, link) => {
    const policy = store.state.accessPolicies.find((p) => p.id === link.policyId);
    return n + (policy ? ruleCount(policy.fields) : 0);
  }, 0);
}

export function checkRulesPerApplication(count: number, limits: AccessLimits): void {
  if (count > limits.rulesPerApplication)
    throw apiErrors.accessRulesPerApplication(limits.rulesPerApplication, count);
}

export function renderPolicy(
  store: Store,
  policy: AccessPolicyRow,
  precedence?: number,
): Record<string, unknown> {
  const reusable = policy.appId === null;
  return {
    id: policy.id,
    approval_required: false,
    isolation_required: false,
    purpose_justification_required: false,
    ...policy.fields,
    created_at: policy.createdAt,
    updated_at: policy.updatedAt,
    reusable,
    ...(reusable
      ? {
          app_count: store.state.accessApps.filter((a) => a.policies.some((l) => l.policyId === policy.id))
            .length,
        }
      : {}),
    ...(precedence !== undefined ? { precedence } : {}),
  };
}

/** Routes of the policies attached to one application, then of reusable policies. */
export function policyRoutes(store: Store, access: AccessContext): Route[] {
  const { base, limits, account, body, findApp, removePolicy } = access;

  const findReusable = (ctx: RouteContext): AccessPolicyRow => {
    const policy = store.state.accessPolicies.find(
      (p) => p.id === ctx.params.policy && p.accountId === account(ctx) && p.appId === null,
    );
    if (!policy) throw apiErrors.accessNotFound('policy');
    return policy;
  };
  const findAppPolicy = (ctx: RouteContext) => {
    const app = findApp(ctx);
    const link = app.policies.find((l) => l.policyId === ctx.params.policy);
    const policy = link && store.state.accessPolicies.find((p) => p.id === link.policyId);
    if (!link || !policy) throw apiErrors.accessNotFound('policy');
    return { app, link, policy };
  };

  return [
    // Policies attached to one application.
    route('GET', `${base}/apps/:app/policies`, 'access', (ctx) => {
      const app = findApp(ctx);
      const linked = app.policies.flatMap((link) => {
        const policy = store.state.accessPolicies.find((p) => p.id === link.policyId);
        return policy ? [renderPolicy(store, policy, link.precedence)] : [];
      });
      return paginate(linked, pageRequest(ctx.query, ACCESS_PAGES));
    }),
    route('POST', `${base}/apps/:app/policies`, 'access', (ctx) => {
      const app = findApp(ctx);
      const input = body(ctx);
      const fields = readPolicy(store, account(ctx), input, limits());
      checkRulesPerApplication(appRuleCount(store, app) + ruleCount(fields), limits());
      const precedence =
        typeof input.precedence === 'number'
          ? input.precedence
          : Math.max(0, ...app.policies.map((l) => l.precedence)) + 1;
      const now = timestamp();
      const policy: AccessPolicyRow = {
        id: uuid(),
        accountId: app.accountId,
        appId: app.id,
        createdAt: now,
        updatedAt: now,
        fields,
      };
      store.state.accessPolicies.push(policy);
      app.policies.push({ policyId: policy.id, precedence });
      app.policies.sort((a, b) => a.precedence - b.precedence);
      return { status: 201, result: renderPolicy(store, policy, precedence) };
    }),
    route('GET', `${base}/apps/:app/policies/:policy`, 'access', (ctx) => {
      const { link, policy } = findAppPolicy(ctx);
      return { result: renderPolicy(store, policy, link.precedence) };
    }),
    route('PUT', `${base}/apps/:app/policies/:policy`, 'access', (ctx) => {
      const { app, link, policy } = findAppPolicy(ctx);
      if (policy.appId === null) throw invalid('reusable policies are changed through /access/policies');
      const input = body(ctx);
      const fields = readPolicy(store, account(ctx), input, limits());
      checkRulesPerApplication(
        appRuleCount(store, app) - ruleCount(policy.fields) + ruleCount(fields),
        limits(),
      );
      policy.fields = fields;
      policy.updatedAt = timestamp();
      if (typeof input.precedence === 'number') {
        link.precedence = input.precedence;
        app.policies.sort((a, b) => a.precedence - b.precedence);
      }
      return { result: renderPolicy(store, policy, link.precedence) };
    }),
    route('DELETE', `${base}/apps/:app/policies/:policy`, 'access', (ctx) => {
      const { app, policy } = findAppPolicy(ctx);
      if (policy.appId === null) throw invalid('reusable policies are deleted through /access/policies');
      app.policies = app.policies.filter((l) => l.policyId !== policy.id);
      removePolicy(policy);
      return { status: 202, result: { id: policy.id } };
    }),

    // Reusable policies.
    route('GET', `${base}/policies`, 'access', (ctx) => {
      const policies = store.state.accessPolicies.filter(
        (p) => p.accountId === account(ctx) && p.appId === null,
      );
      const page = paginate(policies, pageRequest(ctx.query, ACCESS_PAGES));
      return { ...page, result: page.result.map((p) => renderPolicy(store, p)) };
    }),
    route('POST', `${base}/policies`, 'access', (ctx) => {
      const fields = readPolicy(store, account(ctx), body(ctx), limits());
      const count = store.state.accessPolicies.filter(
        (p) => p.accountId === account(ctx) && p.appId === null,
      ).length;
      if (count >= limits().reusablePolicies)
        throw apiErrors.accessReusablePolicyLimit(limits().reusablePolicies);
      const now = timestamp();
      const policy: AccessPolicyRow = {
        id: uuid(),
        accountId: account(ctx),
        appId: null,
        createdAt: now,
        updatedAt: now,
        fields,
      };
      store.state.accessPolicies.push(policy);
      return { status: 201, result: renderPolicy(store, policy) };
    }),
    route('GET', `${base}/policies/:policy`, 'access', (ctx) => ({
      result: renderPolicy(store, findReusable(ctx)),
    })),
    route('PUT', `${base}/policies/:policy`, 'access', (ctx) => {
      const policy = findReusable(ctx);
      const fields = readPolicy(store, account(ctx), body(ctx), limits());
      for (const app of store.state.accessApps.filter((a) =>
        a.policies.some((l) => l.policyId === policy.id),
      )) {
        checkRulesPerApplication(
          appRuleCount(store, app) - ruleCount(policy.fields) + ruleCount(fields),
          limits(),
        );
      }
      policy.fields = fields;
      policy.updatedAt = timestamp();
      return { result: renderPolicy(store, policy) };
    }),
    route('DELETE', `${base}/policies/:policy`, 'access', (ctx) => {
      const policy = findReusable(ctx);
      const users = store.state.accessApps.filter((a) => a.policies.some((l) => l.policyId === policy.id));
      if (users.length > 0)
        throw invalid(`policy is used by ${users.length} application(s); remove it from them first`);
      removePolicy(policy);
      return { status: 202, result: { id: policy.id } };
    }),
  ];
}
