/**
 * The DNS batch planner: what a batch's answer — or its failure — means for each of its
 * operations: records now known, routes failed (their marks stay, the next pass looks first),
 * creates blocked by the zone's record quota, and what is sent again without them. Pure: every
 * case is a row of a table test (dns-batch-plan.test.ts). The step (dns.ts) applies it.
 */
import { ProviderError } from '../../domain/errors.js';
import type { DnsWrite } from './dns-plan.js';

/**
 * What a batch's failure means for its operations. `rejected`: Cloudflare refused the
 * all-or-nothing batch as such (nothing was written): a delete keeps its record, a create made
 * none, a patch leaves its record as it was (a look settles it). Otherwise the answer may have
 * been lost: every operation stays uncertain and the next pass looks first.
 */
export function afterRefusedBatch(ops: readonly DnsWrite[]) {
  return ops.flatMap((op) =>
    op.kind === 'patch'
      ? []
      : [{ routeId: op.routeId, recordId: op.kind === 'delete' ? op.id : null, uncertain: false as const }],
  );
}

/** How a batch ended: answered (the ids made for its posts, in order), refused as such, or unknown. */
export type BatchAnswer =
  | { kind: 'sent'; created: ReadonlyArray<string | null> }
  | { kind: 'refused'; recordQuota: boolean }
  | { kind: 'lost' };

/**
 * A batch's failure: Cloudflare answered and refused the request as such (400/403), or the
 * answer may have been lost (a timeout, a rate limit, a 5xx — and a 404 or a conflict, which say
 * something about one record: the look finds it). The record quota (81045) is matched with its
 * wording.
 */
export function batchFailure(err: unknown): BatchAnswer {
  if (!(err instanceof ProviderError && (err.kind === 'invalid' || err.kind === 'permission')))
    return { kind: 'lost' };
  return { kind: 'refused', recordQuota: err.providerCode === 81045 || /record quota/i.test(err.message) };
}

export type DnsFollowUp =
  /** What the route's record now is, certainly: recorded, the mark cleared. */
  | { kind: 'record'; routeId: string; recordId: string | null }
  /**
   * The route's failure: `missing` (the answer names no record for its create), `batch` (the
   * batch failed: marks stay, the next pass looks first), `quota` (refused with creates that hit
   * the quota, and nothing to resend it without).
   */
  | { kind: 'fail'; routeId: string; why: 'missing' | 'batch' | 'quota' }
  /** The zone holds no more records: the route is blocked until a resync finds room. */
  | { kind: 'block_quota'; routeId: string }
  /** Refused beside creates over the quota: sent again on their own (a delete frees quota). */
  | { kind: 'resend'; ops: DnsWrite[] };

/** What a chunk's answer means for each of its operations, in the order to apply. */
export function afterBatch(chunk: readonly DnsWrite[], answer: BatchAnswer): DnsFollowUp[] {
  const fail = (why: 'batch' | 'quota') => (op: DnsWrite) => ({
    kind: 'fail' as const,
    routeId: op.routeId,
    why,
  });
  if (answer.kind === 'lost') return chunk.map(fail('batch'));
  if (answer.kind === 'sent') {
    let post = 0;
    return chunk.map((op): DnsFollowUp => {
      const recordId =
        op.kind === 'delete' ? null : op.kind === 'patch' ? op.id : (answer.created[post++] ?? null);
      return op.kind === 'post' && !recordId
        ? { kind: 'fail', routeId: op.routeId, why: 'missing' }
        : { kind: 'record', routeId: op.routeId, recordId };
    });
  }
  const records: DnsFollowUp[] = afterRefusedBatch(chunk).map(({ routeId, recordId }) => ({
    kind: 'record',
    routeId,
    recordId,
  }));
  if (!answer.recordQuota) return [...records, ...chunk.map(fail('batch'))];
  const blocked: DnsFollowUp[] = chunk.flatMap((op) =>
    op.kind === 'post' ? [{ kind: 'block_quota', routeId: op.routeId } as const] : [],
  );
  // Deletes and patches use no quota: refused again on their own, they are failures like any other.
  const others = chunk.filter((op) => op.kind !== 'post');
  const rest: DnsFollowUp[] =
    others.length > 0 && others.length < chunk.length
      ? [{ kind: 'resend', ops: others }]
      : others.map(fail('quota'));
  return [...records, ...blocked, ...rest];
}
