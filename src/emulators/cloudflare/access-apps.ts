// Access applications: application types, reading a create/PUT body (policies named by id
// or given inline), rendering with the linked policies embedded in precedence order, and the
// `/apps` routes. An application links reusable policies and its own app-scoped ones, never
// another's; deleting an application deletes its app-scoped policies.
import type { AccessLimits } from './access-limits.js';
import { checkRulesPerApplication, readPolicy, renderPolicy } from './access-policies.js';
import { ruleCount } from './access-rules.js';
import { ACCESS_PAGES, checkDuration, invalid, type AccessContext } from './access-shared.js';
import { apiErrors } from './errors.js';
import { hex64, timestamp, uuid } from './ids.js';
import { isObject, pageRequest, paginate, type JsonObject } from './input.js';
import { route, type Route } from './router.js';
import type { AccessAppRow, AccessPolicyRow, Store } from './state.js';

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

export function applicationRoutes(store: Store, access: AccessContext): Route[] {
  const { base, limits, account, body, findApp, removePolicy } = access;

  return [
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
  ];
}
