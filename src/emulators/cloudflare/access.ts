// Cloudflare Access at account level (reference §4.2): applications (with `aud`), reusable
// policies, app-scoped policies and service tokens. Invariants: a service token's
// `client_secret` appears only in the create and rotate responses; an application's
// policies are returned embedded, in precedence order; a reusable policy still linked to
// an application cannot be deleted; deleting an application deletes its app-scoped policies;
// an application links reusable policies and its own app-scoped ones, never another's;
// durations are Go durations that fit Go's time.Duration; rules are validated by
// access-rules.ts; the account limits of access-limits.ts hold after every call.
import type { AccessLimits, AccessLimitSettings } from './access-limits.js';
import { readRuleList, ruleCount } from './access-rules.js';
import { apiErrors } from './errors.js';
import { hex64, hexId, timestamp, uuid } from './ids.js';
import { bodyObject, isObject, pageRequest, paginate, type JsonObject, type PageLimits } from './input.js';
import { route, type Route, type RouteContext } from './router.js';
import type { AccessAppRow, AccessPolicyRow, ServiceTokenRow, Store } from './state.js';

const APP_TYPES = new Set([
  'self_hosted',
  'saas',
  'ssh',
  'vnc',
  'rdp',
  'app_launcher',
  'warp',
  'biso',
  'bookmark',
  'dash_sso',
  'infrastructure',
]);
const DOMAIN_TYPES = new Set(['self_hosted', 'ssh', 'vnc', 'rdp', 'bookmark']);
const DECISIONS = new Set(['allow', 'deny', 'non_identity', 'bypass']);
/** Access lists: default 25 (UNVERIFIED), at most 1000. */
const ACCESS_PAGES: PageLimits = { defaultPerPage: 25, maxPerPage: 1000 };
const GO_DURATION = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/;
/** Go's time.Duration is an int64 of nanoseconds: at most 2562047h47m16.854775807s. */
const MAX_DURATION_MS = 9_223_372_036_854.775807;

const invalid = apiErrors.accessInvalid;

/** Milliseconds in a Go duration string such as `8760h` or `1h30m`. */
export function goDurationMs(value: string): number {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1e3, m: 6e4, h: 3.6e6 };
  let total = 0;
  for (const [, amount = '0', unit = 'ms'] of value.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(amount) * (units[unit] ?? 0);
  }
  return total;
}

function checkDuration(value: unknown, field: string, allowForever = false): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !(GO_DURATION.test(value) || (allowForever && value === 'forever'))) {
    throw invalid(`${field} must be a duration such as "24h"${allowForever ? ' or "forever"' : ''}`);
  }
  if (value !== 'forever' && goDurationMs(value) > MAX_DURATION_MS) {
    throw invalid(`${field} "${value}" is out of range: a duration can be at most 2562047h47m16.854775807s`);
  }
  return value;
}

// --- Policies ----------------------------------------------------------------------------

/**
 * Reads a policy body (reusable, app-scoped or inline); `at` prefixes field names in errors
 * (e.g. `policies[0].` for an inline policy).
 */
function readPolicy(
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
function appRuleCount(store: Store, app: AccessAppRow): number {
  return app.policies.reduce((n, link) => {
    const policy = store.state.accessPolicies.find((p) => p.id === link.policyId);
    return n + (policy ? ruleCount(policy.fields) : 0);
  }, 0);
}

function checkRulesPerApplication(count: number, limits: AccessLimits): void {
  if (count > limits.rulesPerApplication)
    throw apiErrors.accessRulesPerApplication(limits.rulesPerApplication, count);
}

function renderPolicy(store: Store, policy: AccessPolicyRow, precedence?: number): Record<string, unknown> {
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

// --- Applications ------------------------------------------------------------------------

function renderApp(store: Store, app: AccessAppRow): Record<string, unknown> {
  const domain = typeof app.fields.domain === 'string' ? app.fields.domain : undefined;
  return {
    id: app.id,
    uid: app.id,
    aud: app.aud,
    ...(domain ? { self_hosted_domains: [domain], destinations: [{ type: 'public', uri: domain }] } : {}),
    session_duration: '24h',
    allowed_idps: [],
    auto_redirect_to_identity: false,
    app_launcher_visible: true,
    enable_binding_cookie: false,
    http_only_cookie_attribute: true,
    options_preflight_bypass: false,
    tags: [],
    ...app.fields,
    policies: app.policies.flatMap((link) => {
      const policy = store.state.accessPolicies.find((p) => p.id === link.policyId);
      return policy ? [renderPolicy(store, policy, link.precedence)] : [];
    }),
    created_at: app.createdAt,
    updated_at: app.updatedAt,
  };
}

interface AppInput {
  fields: Record<string, unknown>;
  /** Ids of existing policies to link, or inline policy bodies to create as app-scoped policies. */
  policies: Array<{ policyId?: string; inline?: Record<string, unknown>; precedence: number }>;
}

/**
 * Reads a create (`appId` undefined) or PUT body. `policies` may name reusable policies of
 * the account and, on PUT, the application's own app-scoped policies (as GET returns them).
 */
function readApp(
  store: Store,
  accountId: string,
  body: JsonObject,
  limits: AccessLimits,
  appId?: string,
): AppInput {
  const { policies, id: _id, uid: _uid, aud: _aud, created_at: _c, updated_at: _u, ...rest } = body;
  const type = rest.type;
  if (typeof type !== 'string' || !APP_TYPES.has(type))
    throw invalid('type must be a valid application type, e.g. self_hosted');
  if (DOMAIN_TYPES.has(type) && (typeof rest.domain !== 'string' || rest.domain.trim() === '')) {
    throw invalid(`domain is required for ${type} applications`);
  }
  checkDuration(rest.session_duration, 'session_duration');
  if (rest.name !== undefined && typeof rest.name !== 'string') throw invalid('name must be a string');
  if (policies !== undefined && !Array.isArray(policies)) throw invalid('policies must be an array');
  const links = (policies ?? []).map((item, i) => {
    const precedence = isObject(item) && typeof item.precedence === 'number' ? item.precedence : i + 1;
    const id =
      typeof item === 'string' ? item : isObject(item) && typeof item.id === 'string' ? item.id : undefined;
    if (id !== undefined) {
      const policy = store.state.accessPolicies.find(
        (p) => p.id === id && p.accountId === accountId && (p.appId === null || p.appId === appId),
      );
      if (!policy) {
        throw invalid(
          `policies[${i}]: policy ${id} is neither a reusable policy nor one of this application's policies`,
        );
      }
      return { policyId: id, precedence };
    }
    if (!isObject(item)) throw invalid(`policies[${i}] must be a policy id or a policy object`);
    return { inline: readPolicy(store, accountId, item, limits, `policies[${i}].`), precedence };
  });
  checkRulesPerApplication(
    links.reduce((n, link) => {
      const policy = link.policyId && store.state.accessPolicies.find((p) => p.id === link.policyId);
      return n + ruleCount(link.inline ?? (policy ? policy.fields : {}));
    }, 0),
    limits,
  );
  const fields = { ...rest, name: typeof rest.name === 'string' ? rest.name : (rest.domain ?? '') };
  return { fields, policies: links };
}

/** Links `input.policies` to `app`, creating inline ones as app-scoped policies. */
function linkPolicies(store: Store, app: AccessAppRow, input: AppInput, now: string): void {
  app.policies = input.policies
    .map((link) => {
      if (link.policyId) return { policyId: link.policyId, precedence: link.precedence };
      const policy: AccessPolicyRow = {
        id: uuid(),
        accountId: app.accountId,
        appId: app.id,
        createdAt: now,
        updatedAt: now,
        fields: link.inline ?? {},
      };
      store.state.accessPolicies.push(policy);
      return { policyId: policy.id, precedence: link.precedence };
    })
    .sort((a, b) => a.precedence - b.precedence);
}

// --- Service tokens ----------------------------------------------------------------------

function renderServiceToken(token: ServiceTokenRow, withSecret = false): Record<string, unknown> {
  return {
    id: token.id,
    name: token.name,
    client_id: token.clientId,
    ...(withSecret ? { client_secret: token.clientSecret } : {}),
    duration: token.duration,
    expires_at: token.expiresAt,
    created_at: token.createdAt,
    updated_at: token.updatedAt,
  };
}

function expiry(duration: string, from = Date.now()): string | null {
  return duration === 'forever' ? null : timestamp(from + goDurationMs(duration));
}

// --- Routes ------------------------------------------------------------------------------

export function accessRoutes(store: Store, settings: AccessLimitSettings): Route[] {
  const base = '/accounts/:account/access';
  const limits = () => settings.limits;
  const account = (ctx: RouteContext) => ctx.params.account ?? '';
  const body = (ctx: RouteContext) => bodyObject(ctx.body, invalid);

  const findApp = (ctx: RouteContext): AccessAppRow => {
    const app = store.state.accessApps.find((a) => a.id === ctx.params.app && a.accountId === account(ctx));
    if (!app) throw apiErrors.accessNotFound('application');
    return app;
  };
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
  const findServiceToken = (ctx: RouteContext): ServiceTokenRow => {
    const token = store.state.serviceTokens.find(
      (t) => t.id === ctx.params.token && t.accountId === account(ctx),
    );
    if (!token) throw apiErrors.accessNotFound('service token');
    return token;
  };
  const removePolicy = (policy: AccessPolicyRow) => {
    store.state.accessPolicies = store.state.accessPolicies.filter((p) => p !== policy);
  };

  return [
    // Applications.
    route('GET', `${base}/apps`, 'access', (ctx) => {
      const apps = store.state.accessApps.filter((a) => a.accountId === account(ctx));
      const page = paginate(apps, pageRequest(ctx.query, ACCESS_PAGES));
      return { ...page, result: page.result.map((a) => renderApp(store, a)) };
    }),
    route('POST', `${base}/apps`, 'access', (ctx) => {
      const input = readApp(store, account(ctx), body(ctx), limits());
      const count = store.state.accessApps.filter((a) => a.accountId === account(ctx)).length;
      if (count >= limits().applications) throw apiErrors.accessApplicationLimit(limits().applications);
      const now = timestamp();
      const app: AccessAppRow = {
        id: uuid(),
        accountId: account(ctx),
        aud: hex64(),
        createdAt: now,
        updatedAt: now,
        fields: input.fields,
        policies: [],
      };
      linkPolicies(store, app, input, now);
      store.state.accessApps.push(app);
      return { status: 201, result: renderApp(store, app) };
    }),
    route('GET', `${base}/apps/:app`, 'access', (ctx) => ({ result: renderApp(store, findApp(ctx)) })),
    route('PUT', `${base}/apps/:app`, 'access', (ctx) => {
      const app = findApp(ctx);
      const input = readApp(store, account(ctx), body(ctx), limits(), app.id);
      const now = timestamp();
      const keep = new Set(input.policies.flatMap((l) => (l.policyId ? [l.policyId] : [])));
      for (const link of app.policies) {
        const policy = store.state.accessPolicies.find((p) => p.id === link.policyId);
        if (policy?.appId === app.id && !keep.has(policy.id)) removePolicy(policy);
      }
      app.fields = input.fields;
      app.updatedAt = now;
      linkPolicies(store, app, input, now);
      return { result: renderApp(store, app) };
    }),
    route('DELETE', `${base}/apps/:app`, 'access', (ctx) => {
      const app = findApp(ctx);
      store.state.accessApps = store.state.accessApps.filter((a) => a !== app);
      store.state.accessPolicies = store.state.accessPolicies.filter((p) => p.appId !== app.id);
      return { status: 202, result: { id: app.id } };
    }),

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

    // Service tokens.
    route('GET', `${base}/service_tokens`, 'access', (ctx) => {
      const name = ctx.query.get('name');
      const search = ctx.query.get('search')?.toLowerCase();
      const tokens = store.state.serviceTokens.filter(
        (t) =>
          t.accountId === account(ctx) &&
          (!name || t.name === name) &&
          (!search || t.name.toLowerCase().includes(search) || t.clientId.includes(search)),
      );
      const page = paginate(tokens, pageRequest(ctx.query, ACCESS_PAGES));
      return { ...page, result: page.result.map((t) => renderServiceToken(t)) };
    }),
    route('POST', `${base}/service_tokens`, 'access', (ctx) => {
      const input = body(ctx);
      if (typeof input.name !== 'string' || input.name.trim() === '') throw invalid('name is required');
      const duration = checkDuration(input.duration, 'duration', true) ?? '8760h';
      const count = store.state.serviceTokens.filter((t) => t.accountId === account(ctx)).length;
      if (count >= limits().serviceTokens) throw apiErrors.accessServiceTokenLimit(limits().serviceTokens);
      const now = timestamp();
      const token: ServiceTokenRow = {
        id: uuid(),
        accountId: account(ctx),
        name: input.name,
        clientId: `${hexId()}.access`,
        clientSecret: hex64(),
        duration,
        expiresAt: expiry(duration, Date.parse(now)),
        createdAt: now,
        updatedAt: now,
      };
      store.state.serviceTokens.push(token);
      return { status: 201, result: renderServiceToken(token, true) };
    }),
    route('GET', `${base}/service_tokens/:token`, 'access', (ctx) => ({
      result: renderServiceToken(findServiceToken(ctx)),
    })),
    route('PUT', `${base}/service_tokens/:token`, 'access', (ctx) => {
      const token = findServiceToken(ctx);
      const input = body(ctx);
      if (input.name !== undefined && (typeof input.name !== 'string' || input.name.trim() === '')) {
        throw invalid('name must be a non-empty string');
      }
      const duration = checkDuration(input.duration, 'duration', true);
      if (typeof input.name === 'string') token.name = input.name;
      if (duration) {
        token.duration = duration;
        token.expiresAt = expiry(duration, Date.parse(token.createdAt));
      }
      token.updatedAt = timestamp();
      return { result: renderServiceToken(token) };
    }),
    route('DELETE', `${base}/service_tokens/:token`, 'access', (ctx) => {
      const token = findServiceToken(ctx);
      store.state.serviceTokens = store.state.serviceTokens.filter((t) => t !== token);
      return { result: renderServiceToken(token) };
    }),
    route('POST', `${base}/service_tokens/:token/refresh`, 'access', (ctx) => {
      const token = findServiceToken(ctx);
      token.expiresAt = expiry(token.duration);
      token.updatedAt = timestamp();
      return { result: renderServiceToken(token) };
    }),
    route('POST', `${base}/service_tokens/:token/rotate`, 'access', (ctx) => {
      const token = findServiceToken(ctx);
      token.clientSecret = hex64();
      token.updatedAt = timestamp();
      return { result: renderServiceToken(token, true) };
    }),
  ];
}
