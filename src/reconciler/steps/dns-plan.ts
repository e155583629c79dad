/**
 * The DNS planner: from what each route wants of its hostname and what is known outside (the
 * record id we hold, an "uncertain" mark after a write whose answer was lost, and for uncertain
 * routes the records a lookup found at the name), the operations to send. Pure: no I/O, so
 * every case is a row of a table test (dns-plan.test.ts).
 */

/**
 * What a route wants of its record: `present` (live, protected, its tunnel exists),
 * `absent` (deleted, or its protection is gone: the name is withdrawn), or `hold` (live but
 * not yet protected: no record is made, and one that exists stays as it is).
 */
export type DnsWant = 'present' | 'absent' | 'hold';

export interface DnsRouteInput {
  routeId: string;
  hostname: string;
  /** Our ownership comment for this route's record. */
  comment: string;
  want: DnsWant;
  /** `<tunnel id>.cfargotunnel.com` when the tunnel exists. */
  content: string | null;
  recordId: string | null;
  uncertain: boolean;
}

export interface FoundRecord {
  id: string;
  name: string;
  type: string;
  content: string;
  proxied: boolean;
  comment: string | null;
}

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

export function isWrite(op: DnsOp): op is Extract<DnsOp, { kind: 'post' | 'patch' | 'delete' }> {
  return op.kind === 'post' || op.kind === 'patch' || op.kind === 'delete';
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
 * What a batch's failure means for its operations. `rejected`: Cloudflare refused the
 * all-or-nothing batch as such (nothing was written): a delete keeps its record, a create made
 * none, a patch leaves its record as it was (a look settles it). Otherwise the answer may have
 * been lost: every operation stays uncertain and the next pass looks first.
 */
export function afterRefusedBatch(ops: ReadonlyArray<Extract<DnsOp, { kind: 'post' | 'patch' | 'delete' }>>) {
  return ops.flatMap((op) =>
    op.kind === 'patch'
      ? []
      : [{ routeId: op.routeId, recordId: op.kind === 'delete' ? op.id : null, uncertain: false as const }],
  );
}
