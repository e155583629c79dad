/**
 * DNS for all claimed tunnels together: the routes whose last write may or may not have
 * happened are looked up first (one listing of our records for the zone, or per name when few);
 * the planner (dns-plan.ts) turns wants and findings into operations; they go out through the
 * batch endpoint in chunks of the plan's limit, each route marked uncertain before its chunk is
 * sent. A failure belongs to the routes it concerns: a failed lookup holds back only the
 * routes that needed it, a failed chunk only its routes.
 */
import { ProviderError } from '../../domain/errors.js';
import type { RouteErrorCode } from '../../domain/error-catalogue.js';
import { tunnelCname } from '../../domain/names.js';
import { needsAccess, type Route } from '../../domain/model.js';
import { mapLimit } from '../map-limit.js';
import type { DnsRecord } from '../../providers/cloudflare/index.js';
import { patchRoutes, type StepContext } from '../context.js';
import { protectedNow, protectionStands } from '../protection.js';
import { failRoute, routeActive, routeLive, type Work } from '../work.js';
import {
  afterRefusedBatch,
  isWrite,
  namesToLookUp,
  planDns,
  type DnsOp,
  type DnsRouteInput,
  type DnsWant,
} from './dns-plan.js';

const FOREIGN_RECORD: RouteErrorCode = 'dns.foreign_record';
const RECORD_QUOTA: RouteErrorCode = 'dns.record_quota';

/**
 * Cloudflare answered and refused the request as such: not a lost answer, a timeout or a rate
 * limit, and not a 404 or a conflict (those say something about one record: the look finds it).
 */
const rejected = (err: unknown) =>
  err instanceof ProviderError && (err.kind === 'invalid' || err.kind === 'permission');
/** The zone's record quota (code 81045 "Record quota exceeded."; the code is matched with the wording). */
const isRecordQuota = (err: unknown) =>
  err instanceof ProviderError && (err.providerCode === 81045 || /record quota/i.test(err.message));

type Write = Extract<DnsOp, { kind: 'post' | 'patch' | 'delete' }>;

const foreignRecord = (hostname: string, type: string) => ({
  code: FOREIGN_RECORD,
  message: `DNS name ${hostname} already has a ${type} record not managed by Tunnelplane; it is left untouched. Delete it or choose another route name.`,
});

export function createDnsStep(ctx: StepContext) {
  const { cloudflare, ownership, logger } = ctx;

  function wantOf(w: Work, r: Route, legacyFirewall: boolean): DnsWant {
    if (!routeLive(w, r)) return 'absent';
    if (protectedNow(r)) return 'present';
    // No protection stands any more (its application vanished and could not be made again): withdraw the name.
    if (
      (r.objects.dnsRecordId || r.objects.dnsUncertain) &&
      !protectionStands(r, legacyFirewall) &&
      w.routeFailures.has(r.id)
    )
      return 'absent';
    return 'hold';
  }

  /** Our records at the uncertain names: one zone-wide listing by our comment marker, or per name when few. */
  async function lookUp(names: string[]): Promise<Map<string, DnsRecord[]>> {
    const out = new Map<string, DnsRecord[]>(names.map((n) => [n, []]));
    const add = (r: DnsRecord) => out.get(r.name)?.push(r);
    if (names.length <= 3) {
      for (const name of names) for (const r of await cloudflare.listByName(name)) add(r);
      return out;
    }
    // Streamed: only the records at the wanted names are kept, not the zone.
    for await (const page of cloudflare.pagesByComment(ownership.dnsCommentPrefix))
      for (const r of page) add(r);
    // A foreign record at one of our names has no marker; list those names individually.
    for (const name of names)
      if (out.get(name)!.length === 0) for (const r of await cloudflare.listByName(name)) add(r);
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
      const targets = ws.flatMap((w) =>
        w.failure || w.done
          ? []
          : w.routes
              .filter(
                (r) =>
                  routeLive(w, r) &&
                  routeActive(w, r) &&
                  needsAccess(r) &&
                  !r.objects.dnsRecordId &&
                  !r.objects.dnsUncertain,
              )
              .map((r) => ({ w, r })),
      );
      const found: Array<{ w: Work; r: Route; objects: { dnsUncertain: true } }> = [];
      await mapLimit(targets, ctx.options.concurrency, ({ w, r }) =>
        ctx.asOwner(w, async () => {
          try {
            const comment = ownership.dnsComment(w.tunnel.name, r.name);
            const atName = await cloudflare.listByName(r.hostname);
            const foreign = atName.find((rec) => rec.comment !== comment);
            if (foreign) w.blocked.set(r.id, foreignRecord(r.hostname, foreign.type));
            // Our own record, unrecorded: the sync's look settles it.
            else if (atName.length > 0) found.push({ w, r, objects: { dnsUncertain: true } });
          } catch (err) {
            failRoute(w, r, err);
          }
        }),
      );
      await patchRoutes(ctx, found);
    },

    async sync(ws: Work[], legacyFirewall: boolean) {
      const byRoute = new Map<string, { w: Work; r: Route }>();
      const inputs: DnsRouteInput[] = [];
      for (const w of ws) {
        if (w.failure || w.done || (!w.tunnel.cfTunnelId && !w.tunnel.deleting)) continue;
        for (const r of w.routes) {
          if (w.blocked.has(r.id)) continue;
          const want = wantOf(w, r, legacyFirewall);
          // A route that failed earlier in the pass waits, unless its name must be withdrawn.
          if (w.routeFailures.has(r.id) && !(want === 'absent' && routeLive(w, r))) continue;
          if (want === 'absent' && routeLive(w, r) && r.objects.dnsRecordId) {
            logger.warn(
              { tunnel: w.tunnel.name, hostname: r.hostname },
              'protection could not be put back: withdrawing the hostname',
            );
          }
          byRoute.set(r.id, { w, r });
          inputs.push({
            routeId: r.id,
            hostname: r.hostname,
            comment: ownership.dnsComment(w.tunnel.name, r.name),
            want,
            content: w.tunnel.cfTunnelId ? tunnelCname(w.tunnel.cfTunnelId) : null,
            recordId: r.objects.dnsRecordId,
            uncertain: r.objects.dnsUncertain,
          });
        }
      }
      const names = namesToLookUp(inputs);
      let found: Map<string, DnsRecord[]> | null = new Map();
      let lookupError: unknown = null;
      if (names.length > 0) {
        try {
          found = await lookUp(names);
        } catch (err) {
          found = null;
          lookupError = err;
        }
      }
      const ops = planDns(inputs, found);
      const at = (op: DnsOp) => byRoute.get(op.routeId)!;

      const settled: Array<{
        w: Work;
        r: Route;
        objects: { dnsRecordId: string | null; dnsUncertain: boolean };
      }> = [];
      for (const op of ops) {
        const { w, r } = at(op);
        if (op.kind === 'unresolved') failRoute(w, r, lookupError);
        else if (op.kind === 'settle')
          settled.push({ w, r, objects: { dnsRecordId: op.recordId, dnsUncertain: false } });
        else if (op.kind === 'foreign') w.blocked.set(r.id, foreignRecord(op.hostname, op.type));
      }
      await patchRoutes(ctx, settled);
      const writes = ops
        .filter(isWrite)
        .filter((op) => routeActive(at(op).w, at(op).r) || op.kind === 'delete');
      for (let i = 0; i < writes.length; i += ctx.options.dnsBatchLimit)
        await sendChunk(writes.slice(i, i + ctx.options.dnsBatchLimit));

      async function sendChunk(chunk: Write[]) {
        // Record the intent first: if we crash or the answer is lost, the next pass looks first.
        await patchRoutes(
          ctx,
          chunk.map((op) => ({ ...at(op), objects: { dnsUncertain: true } })),
        );
        const posts = chunk.filter((op) => op.kind === 'post');
        try {
          const res = await cloudflare.batch({
            deletes: chunk.flatMap((op) => (op.kind === 'delete' ? [op.id] : [])),
            patches: chunk.flatMap((op) => (op.kind === 'patch' ? [{ id: op.id, ...op.record }] : [])),
            posts: posts.map((op) => op.record),
          });
          const created = new Map(posts.map((op, j) => [op.routeId, res.posts[j]?.id ?? null]));
          const done = [];
          for (const op of chunk) {
            const recordId =
              op.kind === 'delete' ? null : op.kind === 'patch' ? op.id : created.get(op.routeId)!;
            if (op.kind === 'post' && !recordId) {
              failRoute(
                at(op).w,
                at(op).r,
                new Error(`Cloudflare's batch answer has no record for ${op.record.name}`),
              );
              continue;
            }
            done.push({ ...at(op), objects: { dnsRecordId: recordId, dnsUncertain: false } });
          }
          await patchRoutes(ctx, done);
        } catch (err) {
          logger.warn(
            {
              err: (err as Error).message,
              code: err instanceof ProviderError ? err.providerCode : null,
              status: err instanceof ProviderError ? err.status : null,
              operations: chunk.length,
            },
            'DNS batch refused or failed',
          );
          if (rejected(err)) {
            // A definite refusal of an all-or-nothing batch: nothing was written, no need to look.
            await patchRoutes(
              ctx,
              afterRefusedBatch(chunk).map(({ routeId, recordId }) => ({
                ...byRoute.get(routeId)!,
                objects: { dnsRecordId: recordId, dnsUncertain: false },
              })),
            );
            if (isRecordQuota(err)) return quotaExhausted(chunk, (err as Error).message);
          }
          // Otherwise the answer may have been lost: the routes stay uncertain and the next pass
          // looks before writing. A conflict (a name taken by a foreign record) is found by that
          // look and confined to its route.
          const e =
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
          for (const op of chunk) failRoute(at(op).w, at(op).r, e);
        }
      }

      /**
       * The zone holds no more records: the new names are the routes' own errors (their tunnels
       * go on; a resync tries them again once records are freed). The deletes and patches refused
       * with them go again on their own: a delete frees quota.
       */
      async function quotaExhausted(chunk: Write[], cause: string) {
        const message = `The DNS zone's record quota is used up, so no record was created for this route's hostname (${cause}). Delete unused routes or records, or move the zone to a plan with more records; the route is tried again at the next resync.`;
        for (const op of chunk)
          if (op.kind === 'post') at(op).w.blocked.set(op.routeId, { code: RECORD_QUOTA, message });
        const others = chunk.filter((op) => op.kind !== 'post');
        // Deletes and patches use no quota: refused again, they are failures like any other.
        if (others.length > 0 && others.length < chunk.length) await sendChunk(others);
        else for (const op of others) failRoute(at(op).w, at(op).r, new Error(cause));
      }
    },
  };
}
