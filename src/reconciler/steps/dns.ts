/**
 * DNS for all claimed tunnels together, zone by zone (each route's record lives in its own
 * zone, with that zone's batch limit and record quota): the routes whose last write may or may
 * not have happened are looked up first (one listing of our records in the zone, or per name
 * when few);
 * the planner (dns-plan.ts) turns wants and findings into operations; they go out through the
 * batch endpoint in chunks of the plan's limit, each route marked uncertain before its chunk is
 * sent. A failure belongs to the routes it concerns: a failed lookup holds back only the
 * routes that needed it, a failed chunk only its routes. What each answer means is decided by
 * dns-batch-plan.ts; this executor looks, sends and records.
 */
import { ProviderError } from '../../domain/errors.js';
import type { RouteErrorCode } from '../../domain/error-catalogue.js';
import { needsAccess, type Route } from '../../domain/model.js';
import { mapLimit } from '../map-limit.js';
import type { Zone } from '../../domain/zones.js';
import type { DnsRecord, ZoneApi } from '../../providers/cloudflare/index.js';
import { patchRoutes, type StepContext } from '../context.js';
import { failRoute, routeLive, type Work } from '../work.js';
import {
  byZone,
  claimTargets,
  dnsInputs,
  isWrite,
  writesToSend,
  namesToLookUp,
  planClaim,
  planDns,
  type DnsWrite,
} from './dns-plan.js';
import { afterBatch, batchFailure, type BatchAnswer } from './dns-batch-plan.js';

const FOREIGN_RECORD: RouteErrorCode = 'dns.foreign_record';
const RECORD_QUOTA: RouteErrorCode = 'dns.record_quota';
const UNKNOWN_ZONE: RouteErrorCode = 'dns.unknown_zone';

const unknownZone = (zone: string, hostname: string) => ({
  code: UNKNOWN_ZONE,
  message: `The zone ${zone} of ${hostname} is not configured (cloudflare.zones): its DNS record can be neither written nor deleted. Configure the zone again to let the route go on.`,
});

const foreignRecord = (hostname: string, type: string) => ({
  code: FOREIGN_RECORD,
  message: `DNS name ${hostname} already has a ${type} record not managed by Tunnelplane; it is left untouched. Delete it or choose another route name.`,
});

const quotaMessage = (zone: string, cause: string) =>
  `The DNS zone ${zone}'s record quota is used up, so no record was created for this route's hostname (${cause}). Delete unused routes or records, or move the zone to a plan with more records; the route is tried again at the next resync.`;

/** A conflict in a batch says something about one record, not the batch: retried after a look, like a lost answer. */
const asBatchError = (err: unknown) =>
  err instanceof ProviderError && err.kind === 'conflict'
    ? new ProviderError({
        provider: 'cloudflare',
        kind: 'transient',
        message: err.message,
        status: err.status,
        providerCode: err.providerCode,
        cause: err,
      })
    : err;

export function createDnsStep(ctx: StepContext) {
  const { cloudflare, ownership, logger } = ctx;

  /** Our records at the uncertain names of one zone: one listing by our comment marker, or per name when few. */
  async function lookUp(dns: ZoneApi, names: string[]): Promise<Map<string, DnsRecord[]>> {
    const out = new Map<string, DnsRecord[]>(names.map((n) => [n, []]));
    const add = (r: DnsRecord) => out.get(r.name)?.push(r);
    if (names.length <= 3) {
      for (const name of names) for (const r of await dns.listByName(name)) add(r);
      return out;
    }
    // Streamed: only the records at the wanted names are kept, not the zone.
    for await (const page of dns.pagesByComment(ownership.dnsCommentPrefix)) for (const r of page) add(r);
    // A foreign record at one of our names has no marker; list those names individually.
    for (const name of names)
      if (out.get(name)!.length === 0) for (const r of await dns.listByName(name)) add(r);
    return out;
  }

  return {
    /**
     * Before anything is made for a protected route's hostname (its Access application covers
     * the name), the name must be free or ours: a record someone else made there blocks the
     * route, and no application of ours ever covers their site. Routes that hold a record, or
     * whose write is uncertain (the name was free when it was sent), need no look.
     */
    async claimNames(ws: Work[]) {
      const found: Array<{ w: Work; r: Route; objects: { dnsUncertain: true } }> = [];
      await mapLimit(claimTargets(ws), ctx.options.concurrency, ({ w, r }) =>
        ctx.asOwner(w, async () => {
          const zone = ctx.zones.byName(r.zone);
          if (!zone) {
            w.blocked.set(r.id, unknownZone(r.zone, r.hostname));
            return;
          }
          try {
            const atName = await cloudflare.zone(zone.id).listByName(r.hostname);
            for (const op of planClaim(atName, ownership.dnsComment(w.tunnel.name, r.name))) {
              if (op.kind === 'foreign') w.blocked.set(r.id, foreignRecord(r.hostname, op.type));
              else found.push({ w, r, objects: { dnsUncertain: true } });
            }
          } catch (err) {
            failRoute(w, r, err);
          }
        }),
      );
      await patchRoutes(ctx, found);
    },

    /**
     * `holdNew(w)`: the tunnel's new records wait for a later pass (its configuration PUT is put
     * off), but for as many as fill the batches sent anyway.
     */
    async sync(ws: Work[], legacyFirewall: boolean, holdNew: (w: Work) => boolean = () => false) {
      const byRoute = new Map(ws.flatMap((w) => w.routes.map((r) => [r.id, { w, r }] as const)));
      const at = (routeId: string) => byRoute.get(routeId)!;
      const inputs = dnsInputs(ws, { legacyFirewall, comment: ownership.dnsComment });
      for (const i of inputs) {
        const { w, r } = at(i.routeId);
        if (i.want === 'absent' && routeLive(w, r) && r.objects.dnsRecordId)
          logger.warn(
            { tunnel: w.tunnel.name, hostname: r.hostname },
            'protection could not be put back: withdrawing the hostname',
          );
      }
      for (const [zoneName, group] of byZone(inputs)) {
        const zone = ctx.zones.byName(zoneName);
        if (zone) await syncZone(zone, group);
        else
          for (const i of group) {
            const { w, r } = at(i.routeId);
            w.blocked.set(r.id, unknownZone(zoneName, r.hostname));
          }
      }

      /** One zone's routes: looked up, planned and sent in that zone, in chunks of its batch limit. */
      async function syncZone(zone: Zone, zoneInputs: typeof inputs) {
        const dns = cloudflare.zone(zone.id);
        const names = namesToLookUp(zoneInputs);
        let found: Map<string, DnsRecord[]> | null = new Map();
        let lookupError: unknown = null;
        if (names.length > 0) {
          try {
            found = await lookUp(dns, names);
          } catch (err) {
            found = null;
            lookupError = err;
          }
        }
        const ops = planDns(zoneInputs, found);

        const settled: Array<{
          w: Work;
          r: Route;
          objects: { dnsRecordId: string | null; dnsUncertain: boolean };
        }> = [];
        for (const op of ops) {
          const { w, r } = at(op.routeId);
          if (op.kind === 'unresolved') failRoute(w, r, lookupError);
          else if (op.kind === 'settle')
            settled.push({ w, r, objects: { dnsRecordId: op.recordId, dnsUncertain: false } });
          else if (op.kind === 'foreign') w.blocked.set(r.id, foreignRecord(op.hostname, op.type));
        }
        await patchRoutes(ctx, settled);
        const { send: writes, hold } = writesToSend(
          ops.filter(isWrite),
          // A protected route's name was claimed by this pass's look (claimNames): its record
          // goes now, or the next pass would look again.
          (op) => holdNew(at(op.routeId).w) && !needsAccess(at(op.routeId).r),
          zone.dnsBatchLimit,
        );
        for (const op of hold) at(op.routeId).w.deferred = true;
        for (let i = 0; i < writes.length; i += zone.dnsBatchLimit)
          await sendChunk(dns, zone, writes.slice(i, i + zone.dnsBatchLimit));
      }

      async function sendChunk(dns: ZoneApi, zone: Zone, chunk: DnsWrite[]) {
        // Record the intent first: if we crash or the answer is lost, the next pass looks first.
        await patchRoutes(
          ctx,
          chunk.map((op) => ({ ...at(op.routeId), objects: { dnsUncertain: true } })),
        );
        try {
          const res = await dns.batch({
            deletes: chunk.flatMap((op) => (op.kind === 'delete' ? [op.id] : [])),
            patches: chunk.flatMap((op) => (op.kind === 'patch' ? [{ id: op.id, ...op.record }] : [])),
            posts: chunk.flatMap((op) => (op.kind === 'post' ? [op.record] : [])),
          });
          // Recording the answer is part of the attempt: a store failure here is the chunk's failure too.
          await follow(dns, zone, chunk, { kind: 'sent', created: res.posts.map((p) => p.id) }, null);
        } catch (err) {
          logger.warn(
            {
              err: (err as Error).message,
              code: err instanceof ProviderError ? err.providerCode : null,
              status: err instanceof ProviderError ? err.status : null,
              operations: chunk.length,
              zone: zone.name,
            },
            'DNS batch refused or failed',
          );
          await follow(dns, zone, chunk, batchFailure(err), err);
        }
      }

      /**
       * Applies what the planner made of a chunk's answer: the routes' failures and blocks, the
       * records (one store call), then what goes again.
       */
      async function follow(
        dns: ZoneApi,
        zone: Zone,
        chunk: DnsWrite[],
        answer: BatchAnswer,
        error: unknown,
      ) {
        const followUps = afterBatch(chunk, answer);
        const cause = (error as Error | null)?.message ?? '';
        for (const f of followUps) {
          if (f.kind === 'record' || f.kind === 'resend') continue;
          const { w, r } = at(f.routeId);
          if (f.kind === 'block_quota')
            w.blocked.set(r.id, { code: RECORD_QUOTA, message: quotaMessage(zone.name, cause) });
          else if (f.why === 'missing')
            failRoute(w, r, new Error(`Cloudflare's batch answer has no record for ${r.hostname}`));
          else if (f.why === 'quota') failRoute(w, r, new Error(cause));
          else failRoute(w, r, asBatchError(error));
        }
        const records = followUps.flatMap((f) =>
          f.kind === 'record'
            ? [{ ...at(f.routeId), objects: { dnsRecordId: f.recordId, dnsUncertain: false } }]
            : [],
        );
        if (records.length > 0) await patchRoutes(ctx, records);
        for (const f of followUps) if (f.kind === 'resend') await sendChunk(dns, zone, f.ops);
      }
    },
  };
}
