// DNS record endpoints (`/zones/:zone/dns_records…`, reference §3). Invariants: names are
// stored fully qualified in Punycode; a CNAME never shares a name with an A/AAAA/CNAME
// (81053/81054) and no two records are identical (81057: names and hostname contents
// compare case-insensitively, TXT content exactly, AAAA by address); proxied records have TTL 1;
// comment length, tags, batch size and record quota follow the zone's plan; a batch runs
// deletes → patches → puts → posts on a copy and is committed only if every step succeeds.
// Fields and validation live in `dns-records.ts`, record operations in `dns-operations.ts`,
// listing in `dns-listing.ts`; this module registers the routes.
import { apiErrors } from './errors.js';
import { bodyObject, isObject } from './input.js';
import { planLimits } from './plans.js';
import { route, type Route, type RouteContext } from './router.js';
import type { Store } from './state.js';
import { listRecords } from './dns-listing.js';
import { createRecord, deleteRecord, findRecord, updateRecord, type ZoneContext } from './dns-operations.js';
import { invalid, renderRecord } from './dns-records.js';

export { qualifyName, renderRecord } from './dns-records.js';

// --- Routes -------------------------------------------------------------------------------

export function dnsRoutes(store: Store): Route[] {
  const base = '/zones/:zone/dns_records';
  const zoneContext = (ctx: RouteContext, records = store.state.dnsRecords): ZoneContext => {
    const zone = store.state.zones.find((z) => z.id === ctx.params.zone);
    if (!zone) throw apiErrors.noRoute(ctx.path); // the server checks scope first; kept for safety
    const plan = planLimits[zone.plan];
    return { zone, limits: { ...plan, recordQuota: zone.recordQuota ?? plan.recordQuota }, records };
  };

  return [
    route('POST', base, 'dns', (ctx) => ({ result: renderRecord(createRecord(zoneContext(ctx), ctx.body)) })),
    route('GET', base, 'dns', (ctx) => listRecords(store, zoneContext(ctx).zone, ctx.query)),
    route('GET', `${base}/:record`, 'dns', (ctx) => ({
      result: renderRecord(findRecord(zoneContext(ctx), ctx.params.record)),
    })),
    route('PUT', `${base}/:record`, 'dns', (ctx) => ({
      result: renderRecord(updateRecord(zoneContext(ctx), ctx.params.record, ctx.body, 'put')),
    })),
    route('PATCH', `${base}/:record`, 'dns', (ctx) => ({
      result: renderRecord(updateRecord(zoneContext(ctx), ctx.params.record, ctx.body, 'patch')),
    })),
    route('DELETE', `${base}/:record`, 'dns', (ctx) => {
      const record = deleteRecord(zoneContext(ctx), ctx.params.record);
      return { result: { id: record.id } };
    }),
    route('POST', `${base}/batch`, 'dns', (ctx) => {
      const body = bodyObject(ctx.body, invalid.request);
      const list = (key: string): unknown[] => {
        const value = body[key];
        if (value === undefined || value === null) return [];
        if (!Array.isArray(value)) throw invalid.request(`${key} must be an array`);
        return value;
      };
      const [deletes, patches, puts, posts] = [list('deletes'), list('patches'), list('puts'), list('posts')];
      const working = structuredClone(store.state.dnsRecords);
      const zc = zoneContext(ctx, working);
      const total = deletes.length + patches.length + puts.length + posts.length;
      if (total > zc.limits.batchOperations) throw apiErrors.dnsBatchTooLarge(zc.limits.batchOperations);
      const idOf = (item: unknown) => (isObject(item) ? item.id : undefined);
      const result = {
        deletes: deletes.map((item) => renderRecord(deleteRecord(zc, idOf(item)))),
        patches: patches.map((item) => renderRecord(updateRecord(zc, idOf(item), withoutId(item), 'patch'))),
        puts: puts.map((item) => renderRecord(updateRecord(zc, idOf(item), withoutId(item), 'put'))),
        posts: posts.map((item) => renderRecord(createRecord(zc, item))),
      };
      store.state.dnsRecords = working;
      return { result };
    }),
  ];
}

function withoutId(item: unknown): unknown {
  if (!isObject(item)) return item;
  const { id: _id, ...rest } = item;
  return rest;
}
