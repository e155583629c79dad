// Zones (list with `name` filter, get) and API token verification (user and account
// forms). A token only ever sees the zones it is scoped to.
import { route, type Route, type RouteContext } from './router.js';
import { pageRequest, paginate } from './input.js';
import { planLimits } from './plans.js';
import type { ApiTokenRow, Store, ZoneRow } from './state.js';
import { apiErrors } from './errors.js';

// Cloudflare's Free plan id is this well-known constant; the Pro id is a stand-in.
const PLAN_IDS = {
  free: '0feeeeeeeeeeeeeeeeeeeeeeeeeeeeee',
  pro: 'a577b510288e82b26486fcd7e9c2e4ab',
} as const;

export function renderZone(store: Store, zone: ZoneRow): Record<string, unknown> {
  const account = store.state.accounts.find((a) => a.id === zone.accountId);
  const plan = planLimits[zone.plan];
  return {
    id: zone.id,
    name: zone.name,
    status: 'active',
    paused: false,
    type: 'full',
    development_mode: 0,
    name_servers: ['ada.ns.cloudflare.com', 'bob.ns.cloudflare.com'],
    original_name_servers: null,
    original_registrar: null,
    original_dnshost: null,
    vanity_name_servers: [],
    created_on: zone.createdOn,
    modified_on: zone.createdOn,
    activated_on: zone.createdOn,
    meta: {
      step: 2,
      custom_certificate_quota: 0,
      page_rule_quota: 3,
      phishing_detected: false,
      foundation_dns: false,
    },
    owner: { id: zone.accountId, type: 'organization', name: account?.name ?? '' },
    account: { id: zone.accountId, name: account?.name ?? '' },
    plan: {
      id: PLAN_IDS[zone.plan],
      name: plan.name,
      price: plan.price,
      currency: 'USD',
      frequency: zone.plan === 'free' ? '' : 'monthly',
      is_subscribed: zone.plan !== 'free',
      can_subscribe: zone.plan !== 'free',
      legacy_id: zone.plan,
      legacy_discount: false,
      externally_managed: false,
    },
  };
}

function verifyResult(token: ApiTokenRow) {
  return {
    result: { id: token.id, status: 'active' },
    messages: [{ code: 10000, message: 'This API Token is valid and active', type: null }],
  };
}

function listZones(store: Store, ctx: RouteContext) {
  const q = ctx.query;
  const name = q.get('name')?.toLowerCase();
  const status = q.get('status');
  const accountId = q.get('account.id');
  const accountName = q.get('account.name');
  const visible = store.state.zones.filter((z) => ctx.token.zoneIds.includes(z.id));
  const matches = visible.filter((z) => {
    const account = store.state.accounts.find((a) => a.id === z.accountId);
    if (name && z.name !== name) return false;
    if (status && status !== 'active') return false;
    if (accountId && z.accountId !== accountId) return false;
    if (accountName && account?.name !== accountName) return false;
    return true;
  });
  const direction = q.get('direction') === 'desc' ? -1 : 1;
  matches.sort((a, b) => a.name.localeCompare(b.name) * direction);
  const page = paginate(matches, pageRequest(q, { defaultPerPage: 20, minPerPage: 5, maxPerPage: 50 }), {
    totalPages: true,
  });
  return { ...page, result: page.result.map((z) => renderZone(store, z)) };
}

export function zoneRoutes(store: Store): Route[] {
  return [
    route('GET', '/user/tokens/verify', null, (ctx) => verifyResult(ctx.token)),
    route('GET', '/accounts/:account/tokens/verify', null, (ctx) => verifyResult(ctx.token)),
    route('GET', '/zones', 'zones', (ctx) => listZones(store, ctx)),
    route('GET', '/zones/:zone', 'zones', (ctx) => {
      const zone = store.state.zones.find((z) => z.id === ctx.params.zone);
      if (!zone) throw apiErrors.noRoute(ctx.path);
      return { result: renderZone(store, zone) };
    }),
  ];
}
