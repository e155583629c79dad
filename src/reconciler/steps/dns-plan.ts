/**
 * The DNS planner: from what each route wants of its hostname and what is known outside (the
 * record id we hold, an "uncertain" mark after a write whose answer was lost, and for uncertain
 * routes the records a lookup found at the name), the operations to send; before that, whether
 * a protected route's name is free (claims). Pure: no I/O, so every case is a row of a table
 * test (dns-plan.test.ts). What a batch's answer means is dns-batch-plan.ts; the step (dns.ts)
 * looks up, sends in chunks and records.
 */
import { needsAccess, type Route } from '../../domain/model.js';
import { tunnelCname } from '../../domain/names.js';
import { protectedNow, protectionStands } from '../protection.js';
import { routeActive, routeLive, type Work } from '../work.js';
import type { DnsRecord } from '../../providers/cloudflare/index.js';

/**
 * What a route wants of its record: `present` (live, protected, its tunnel exists),
 * `absent` (deleted, or its protection is gone: the name is withdrawn), or `hold` (live but
 * not yet protected: no record is made, and one that exists stays as it is).
 */
export type DnsWant = 'present' | 'absent' | 'hold';

export interface DnsRouteInput {
  routeId: string;
  hostname: string;
  /** The zone its record lives in (each zone is planned and sent on its own). */
  zone: string;
  /** Our ownership comment for this route's record. */
  comment: string;
  want: DnsWant;
  /** `<tunnel id>.cfargotunnel.com` when the tunnel exists. */
  content: string | null;
  recordId: string | null;
  uncertain: boolean;
}

/** A record found at a name, as the provider lists it (when it was made does not matter here). */
export type FoundRecord = Omit<DnsRecord, 'createdAt'>;

export interface CnameSpec {
  name: string;
  content: string;
  comment: string;
}

export type DnsOp =
  | { kind: 'post'; routeId: string; record: CnameSpec }
  | { kind: 'patch'; routeId: string; id: string; record: CnameSpec }
  | { kind: 'delete'; routeId: string; id: string }
  /** The look settled what the record is (ours, adopted; or none): record it, clear the mark. */
  | { kind: 'settle'; routeId: string; recordId: string | null }
  /** A record we did not make holds the name: the route cannot go live; nothing is touched. */
  | { kind: 'foreign'; routeId: string; hostname: string; type: string }
  /** The route needed a look that could not be made: nothing is sent for it this pass. */
  | { kind: 'unresolved'; routeId: string };

export type DnsWrite = Extract<DnsOp, { kind: 'post' | 'patch' | 'delete' }>;

export function isWrite(op: DnsOp): op is DnsWrite {
  return op.kind === 'post' || op.kind === 'patch' || op.kind === 'delete';
}

/**
 * Which writes a pass sends now, in batches of `limit`: all but the creates `held` picks (those
 * of tunnels whose configuration PUT the pass puts off), and of those as many as fit in the
 * batches that go anyway: a held create never costs a batch of its own.
 */
export function writesToSend(writes: readonly DnsWrite[], held: (op: DnsWrite) => boolean, limit: number) {
  const isHeld = (op: DnsWrite) => op.kind === 'post' && held(op);
  const send = writes.filter((op) => !isHeld(op));
  const waiting = writes.filter(isHeld);
  const room = Math.ceil(send.length / limit) * limit - send.length;
  return { send: [...send, ...waiting.slice(0, room)], hold: waiting.slice(room) };
}

/**
 * What a route wants: withdrawn when deleted, or when no protection stands any more (its
 * application vanished and could not be made again in this pass); present once protected.
 */
export function dnsWant(w: Work, r: Route, legacyFirewall: boolean): DnsWant {
  if (!routeLive(w, r)) return 'absent';
  if (protectedNow(r)) return 'present';
  if (
    (r.objects.dnsRecordId || r.objects.dnsUncertain) &&
    !protectionStands(r, legacyFirewall) &&
    w.routeFailures.has(r.id)
  )
    return 'absent';
  return 'hold';
}

export interface DnsInputOptions {
  /** Allow-list WAF rules from before per-route Access still stand (see resync). */
  legacyFirewall: boolean;
  /** Our ownership comment for a route's record. */
  comment(tunnel: string, route: string): string;
}

/**
 * The routes this pass plans records for: those of tunnels still worked on whose Cloudflare
 * tunnel exists (or that are being deleted), not blocked; a route that failed earlier in the
 * pass waits, unless its name must be withdrawn.
 */
export function dnsInputs(ws: readonly Work[], o: DnsInputOptions): DnsRouteInput[] {
  const inputs: DnsRouteInput[] = [];
  for (const w of ws) {
    if (w.failure || w.done || (!w.tunnel.cfTunnelId && !w.tunnel.deleting)) continue;
    for (const r of w.routes) {
      if (w.blocked.has(r.id)) continue;
      const want = dnsWant(w, r, o.legacyFirewall);
      if (w.routeFailures.has(r.id) && !(want === 'absent' && routeLive(w, r))) continue;
      inputs.push({
        routeId: r.id,
        hostname: r.hostname,
        zone: r.zone,
        comment: o.comment(w.tunnel.name, r.name),
        want,
        content: w.tunnel.cfTunnelId ? tunnelCname(w.tunnel.cfTunnelId) : null,
        recordId: r.objects.dnsRecordId,
        uncertain: r.objects.dnsUncertain,
      });
    }
  }
  return inputs;
}

/**
 * `found` holds, for every name an uncertain route has, the records a lookup saw there (an
 * absent key: the name was not looked up; an empty list: nothing is there). `null`: the
 * lookup failed, and uncertain routes are `unresolved`.
 */
export function planDns(
  routes: readonly DnsRouteInput[],
  found: ReadonlyMap<string, readonly FoundRecord[]> | null,
): DnsOp[] {
  const ops: DnsOp[] = [];
  for (const r of routes) {
    const wanted =
      r.want === 'present' && r.content ? { name: r.hostname, content: r.content, comment: r.comment } : null;
    if (!r.uncertain) {
      if (r.want === 'absent' && r.recordId) ops.push({ kind: 'delete', routeId: r.routeId, id: r.recordId });
      else if (wanted && !r.recordId) ops.push({ kind: 'post', routeId: r.routeId, record: wanted });
      continue;
    }
    const atName = found?.get(r.hostname);
    if (!atName) {
      ops.push({ kind: 'unresolved', routeId: r.routeId });
      continue;
    }
    const ours = atName.find((rec) => rec.comment === r.comment);
    const foreign = atName.find((rec) => rec !== ours);
    if (r.want === 'absent') {
      ops.push(
        ours
          ? { kind: 'delete', routeId: r.routeId, id: ours.id }
          : { kind: 'settle', routeId: r.routeId, recordId: null },
      );
      continue;
    }
    if (ours) {
      const drifted = wanted && (ours.content !== wanted.content || !ours.proxied || ours.type !== 'CNAME');
      ops.push(
        drifted
          ? { kind: 'patch', routeId: r.routeId, id: ours.id, record: wanted }
          : { kind: 'settle', routeId: r.routeId, recordId: ours.id },
      );
      continue;
    }
    if (foreign) {
      ops.push({ kind: 'foreign', routeId: r.routeId, hostname: r.hostname, type: foreign.type });
      continue;
    }
    ops.push(
      wanted
        ? { kind: 'post', routeId: r.routeId, record: wanted }
        : { kind: 'settle', routeId: r.routeId, recordId: null },
    );
  }
  return ops;
}

/** The names an uncertain route needs looked up before anything is planned for it. */
export function namesToLookUp(routes: readonly DnsRouteInput[]): string[] {
  return [...new Set(routes.filter((r) => r.uncertain).map((r) => r.hostname))];
}

/**
 * Protected live routes about to get their Access application, with no record of ours and no
 * uncertain write: their name is looked at first (a record someone else made there blocks them).
 */
export const claimTargets = (ws: readonly Work[]) =>
  ws.flatMap((w) =>
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

export type ClaimOp =
  /** A record we did not make holds the name: the route is blocked before anything covers it. */
  | { kind: 'foreign'; type: string }
  /** Our own record, unrecorded: marked uncertain, so the sync's look settles it. */
  | { kind: 'mark_uncertain' };

/** What the records at a claimed name (`atName`) mean for the route whose comment is `comment`. */
export function planClaim(atName: ReadonlyArray<Pick<FoundRecord, 'type' | 'comment'>>, comment: string) {
  const foreign = atName.find((rec) => rec.comment !== comment);
  if (foreign) return [{ kind: 'foreign', type: foreign.type }] satisfies ClaimOp[];
  return atName.length > 0 ? ([{ kind: 'mark_uncertain' }] satisfies ClaimOp[]) : [];
}

/** The inputs by zone, in first-seen order: each zone's records are looked up, planned and batched on their own. */
export function byZone<T extends { zone: string }>(items: readonly T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const group = out.get(item.zone);
    if (group) group.push(item);
    else out.set(item.zone, [item]);
  }
  return out;
}
