// DNS record listing (`GET /zones/:zone/dns_records`): the name/content/comment string
// filters, tag filters, `match`/`tag_match` combination, search, ordering and pagination.
import { pageRequest, paginate, queryBool } from './input.js';
import type { DnsRecordRow, Store, ZoneRow } from './state.js';
import { renderRecord } from './dns-records.js';

// --- Listing ------------------------------------------------------------------------------

type Predicate = (r: DnsRecordRow) => boolean;

function stringFilters(
  q: URLSearchParams,
  key: string,
  value: (r: DnsRecordRow) => string | null,
): Predicate[] {
  const predicates: Predicate[] = [];
  const lower = (r: DnsRecordRow) => value(r)?.toLowerCase() ?? null;
  const exact = q.get(`${key}.exact`) ?? q.get(key);
  if (exact !== null) predicates.push((r) => lower(r) === exact.toLowerCase());
  const contains = q.get(`${key}.contains`);
  if (contains !== null) predicates.push((r) => lower(r)?.includes(contains.toLowerCase()) ?? false);
  const starts = q.get(`${key}.startswith`);
  if (starts !== null) predicates.push((r) => lower(r)?.startsWith(starts.toLowerCase()) ?? false);
  const ends = q.get(`${key}.endswith`);
  if (ends !== null) predicates.push((r) => lower(r)?.endsWith(ends.toLowerCase()) ?? false);
  return predicates;
}

function tagFilters(q: URLSearchParams): Predicate[] {
  const split = (tag: string) => {
    const i = tag.indexOf(':');
    return i < 0
      ? { name: tag.toLowerCase(), value: '' }
      : { name: tag.slice(0, i).toLowerCase(), value: tag.slice(i + 1) };
  };
  const tagValue = (r: DnsRecordRow, name: string) =>
    r.tags
      .map(split)
      .find((t) => t.name === name.toLowerCase())
      ?.value.toLowerCase();
  const predicates: Predicate[] = [];
  const byValue = (param: string, test: (actual: string, wanted: string) => boolean) => {
    for (const raw of q.getAll(param)) {
      const { name, value } = split(raw);
      predicates.push((r) => {
        const actual = tagValue(r, name);
        return actual !== undefined && test(actual, value.toLowerCase());
      });
    }
  };
  for (const raw of q.getAll('tag')) {
    const { name, value } = split(raw);
    predicates.push(
      raw.includes(':')
        ? (r) => tagValue(r, name) === value.toLowerCase()
        : (r) => tagValue(r, name) !== undefined,
    );
  }
  for (const name of q.getAll('tag.present')) predicates.push((r) => tagValue(r, name) !== undefined);
  for (const name of q.getAll('tag.absent')) predicates.push((r) => tagValue(r, name) === undefined);
  byValue('tag.exact', (a, w) => a === w);
  byValue('tag.contains', (a, w) => a.includes(w));
  byValue('tag.startswith', (a, w) => a.startsWith(w));
  byValue('tag.endswith', (a, w) => a.endsWith(w));
  return predicates;
}

function combine(predicates: Predicate[], mode: string | null): Predicate {
  if (predicates.length === 0) return () => true;
  return mode === 'any' ? (r) => predicates.some((p) => p(r)) : (r) => predicates.every((p) => p(r));
}

export function listRecords(store: Store, zone: ZoneRow, q: URLSearchParams) {
  const filters: Predicate[] = [
    ...stringFilters(q, 'name', (r) => r.name),
    ...stringFilters(q, 'content', (r) => r.content),
    ...stringFilters(q, 'comment', (r) => r.comment),
  ];
  const type = q.get('type');
  if (type) filters.push((r) => r.type === type.toUpperCase());
  const proxied = queryBool(q, 'proxied');
  if (proxied !== undefined) filters.push((r) => r.proxied === proxied);
  if (q.has('comment.present')) filters.push((r) => r.comment !== null);
  if (q.has('comment.absent')) filters.push((r) => r.comment === null);
  const search = q.get('search')?.toLowerCase();
  if (search) {
    filters.push((r) => [r.name, r.content, r.comment ?? ''].some((v) => v.toLowerCase().includes(search)));
  }
  const matchFilters = combine(filters, q.get('match'));
  const matchTags = combine(tagFilters(q), q.get('tag_match'));

  const order = q.get('order') ?? 'type';
  const key = (r: DnsRecordRow): string | number =>
    order === 'name'
      ? r.name
      : order === 'content'
        ? r.content
        : order === 'ttl'
          ? r.ttl
          : order === 'proxied'
            ? Number(r.proxied)
            : r.type;
  const direction = q.get('direction') === 'desc' ? -1 : 1;
  const matches = store.state.dnsRecords
    .filter((r) => r.zoneId === zone.id && matchFilters(r) && matchTags(r))
    .sort((a, b) => {
      const ka = key(a);
      const kb = key(b);
      if (ka !== kb) return (ka < kb ? -1 : 1) * direction;
      return a.name.localeCompare(b.name) || a.createdOn.localeCompare(b.createdOn);
    });
  const page = paginate(matches, pageRequest(q, { defaultPerPage: 100, maxPerPage: 5_000_000 }), {
    totalPages: true,
  });
  return { ...page, result: page.result.map(renderRecord) };
}
