/**
 * DNS records of one zone (`CloudflareApi.zone(id)`; every zone has its own records, quota and
 * batch limit): our proxied CNAMEs go out through the all-or-nothing batch endpoint,
 * and are found again by their comment (our marker), page by page, or by name.
 */
import type { CloudflareClient } from './sdk-client.js';

export interface DnsRecord {
  id: string;
  name: string;
  type: string;
  content: string;
  proxied: boolean;
  comment: string | null;
  /** When Cloudflare made it (`created_on`; null if it did not say). */
  createdAt: string | null;
}

export interface CnameInput {
  name: string;
  content: string;
  comment: string;
}

export interface DnsApi {
  /** One all-or-nothing batch; returns the created records in the order of `posts`. */
  batch(ops: {
    deletes?: string[];
    patches?: (CnameInput & { id: string })[];
    posts?: CnameInput[];
  }): Promise<{
    posts: DnsRecord[];
  }>;
  /**
   * Every record whose comment starts with `commentPrefix`, one listing page at a time (`perPage` records, default 5,000), so a caller
   * holds one page, not the zone (each page is a fresh array the caller may consume). Pages are
   * offset-based: writes to the zone while paging may shift a record across a page boundary
   * (missed or seen twice), so callers collect what they would delete and act after the listing.
   */
  pagesByComment(commentPrefix: string, perPage?: number): AsyncGenerator<DnsRecord[], void, undefined>;
  /** Every record at exactly this name (any owner). */
  listByName(name: string): Promise<DnsRecord[]>;
}

/** DNS records per listing page: few calls for a large zone, one page held at a time. */
const DNS_PAGE = 5000;

interface RawRecord {
  id?: string;
  name?: string;
  type?: string;
  content?: string;
  proxied?: boolean;
  comment?: string | null;
  created_on?: string | null;
}

const toRecord = (r: RawRecord): DnsRecord => ({
  id: r.id ?? '',
  name: r.name ?? '',
  type: r.type ?? '',
  content: r.content ?? '',
  proxied: r.proxied ?? false,
  comment: r.comment ?? null,
  createdAt: r.created_on ?? null,
});

/** Every record we write is a proxied CNAME with automatic TTL. */
const cname = (r: CnameInput) => ({
  type: 'CNAME' as const,
  name: r.name,
  content: r.content,
  proxied: true,
  ttl: 1 as const,
  comment: r.comment,
});

export function createDnsApi({ sdk, guard }: CloudflareClient, zoneId: string): DnsApi {
  /** One page of our DNS records, mapped: the SDK's page (raw objects, whole body) is dropped here. */
  async function recordsPage(
    commentPrefix: string,
    page: number,
    perPage: number,
  ): Promise<{ records: DnsRecord[]; last: boolean }> {
    const res = await guard(`list DNS records (page ${page})`, () =>
      sdk.dns.records.list({
        zone_id: zoneId,
        comment: { startswith: commentPrefix },
        per_page: perPage,
        page,
      }),
    );
    const records = (res.result as RawRecord[]).map(toRecord);
    const info = res.result_info as
      { per_page?: number; total_count?: number; total_pages?: number } | undefined;
    // The SDK's own iteration asks for one page past the last; the counts save that call.
    const last =
      records.length === 0 ||
      (info?.total_pages !== undefined && page >= info.total_pages) ||
      (info?.total_count !== undefined && page * (info.per_page ?? perPage) >= info.total_count);
    return { records, last };
  }

  return {
    batch: (ops) =>
      guard('DNS batch', async () => {
        const res = await sdk.dns.records.batch({
          zone_id: zoneId,
          ...(ops.deletes?.length ? { deletes: ops.deletes.map((id) => ({ id })) } : {}),
          ...(ops.patches?.length ? { patches: ops.patches.map((p) => ({ id: p.id, ...cname(p) })) } : {}),
          ...(ops.posts?.length ? { posts: ops.posts.map(cname) } : {}),
        });
        return { posts: ((res as { posts?: RawRecord[] }).posts ?? []).map(toRecord) };
      }),

    async *pagesByComment(commentPrefix, perPage = DNS_PAGE) {
      for (let page = 1; ; page++) {
        // Only the mapped records live across the yield, never the SDK's page.
        const { records, last } = await recordsPage(commentPrefix, page, perPage);
        if (records.length > 0) yield records;
        if (last) return;
      }
    },

    listByName: (name) =>
      guard(`look up DNS name ${name}`, async () => {
        const page = await sdk.dns.records.list({ zone_id: zoneId, name: { exact: name }, per_page: 100 });
        return (page.result as RawRecord[]).map(toRecord);
      }),
  };
}
