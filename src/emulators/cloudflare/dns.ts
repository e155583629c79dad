// DNS record endpoints (`/zones/:zone/dns_records…`, reference §3). Invariants: names are
// stored fully qualified in Punycode; a CNAME never shares a name with an A/AAAA/CNAME
// (81053/81054) and no two records are identical (81057: names and hostname contents
// compare case-insensitively, TXT content exactly, AAAA by address); proxied records have TTL 1;
// comment length, tags, batch size and record quota follow the zone's plan; a batch runs
// deletes → patches → puts → posts on a copy and is committed only if every step succeeds.
import { isIPv4, isIPv6 } from 'node:net';
import { domainToASCII } from 'node:url';
import { apiErrors } from './errors.js';
import { hexId, timestamp } from './ids.js';
import { bodyObject, fields, isObject, pageRequest, paginate, queryBool, type JsonObject } from './input.js';
import { planLimits, type PlanLimits } from './plans.js';
import { route, type Route, type RouteContext } from './router.js';
import type { DnsRecordRow, Store, ZoneRow } from './state.js';

const SUPPORTED_TYPES = ['A', 'AAAA', 'CNAME', 'TXT', 'MX', 'NS', 'PTR'] as const;
const PROXIABLE = new Set(['A', 'AAAA', 'CNAME']);
const HOSTNAME_CONTENT = new Set(['CNAME', 'MX', 'NS', 'PTR']);

// Validation codes other than 9005 are UNVERIFIED stand-ins (see docs/emulators.md).
const invalid = {
  request: (message: string) => apiErrors.dnsInvalid(9000, message),
  name: () => apiErrors.dnsInvalid(9000, 'DNS name is invalid.'),
  type: (type: string) => apiErrors.dnsInvalid(9000, `Record type ${type} is not supported by the emulator.`),
  proxied: () => apiErrors.dnsInvalid(9004, 'This record type cannot be proxied.'),
  ipv4: () => apiErrors.dnsInvalid(9005, 'Content for A record must be a valid IPv4 address.'),
  ipv6: () => apiErrors.dnsInvalid(9006, 'Content for AAAA record must be a valid IPv6 address.'),
  hostname: (type: string) => apiErrors.dnsInvalid(9007, `Content for ${type} record is invalid.`),
  selfReference: () => apiErrors.dnsInvalid(9039, 'CNAME content cannot reference itself.'),
  ttl: () =>
    apiErrors.dnsInvalid(9021, 'Invalid TTL. Must be between 60 and 86400 seconds, or 1 for Automatic.'),
  priority: () => apiErrors.dnsInvalid(9100, 'MX records require a priority between 0 and 65535.'),
  comment: (max: number) => apiErrors.dnsInvalid(9101, `Comment is too long (maximum ${max} characters).`),
  commentNewline: () => apiErrors.dnsInvalid(9101, 'Comment must not contain newlines.'),
  tagsUnavailable: () => apiErrors.dnsInvalid(9300, "DNS record tags are not available on this zone's plan."),
  tag: (tag: string) => apiErrors.dnsInvalid(9301, `Invalid tag "${tag}": tags look like name:value.`),
  tooManyTags: () => apiErrors.dnsInvalid(9302, 'A DNS record can have at most 20 tags.'),
};

// --- Rendering ----------------------------------------------------------------------------

export function renderRecord(record: DnsRecordRow): Record<string, unknown> {
  return {
    id: record.id,
    name: record.name,
    type: record.type,
    content: record.content,
    ...(record.priority !== undefined ? { priority: record.priority } : {}),
    proxiable: PROXIABLE.has(record.type),
    proxied: record.proxied,
    ttl: record.ttl,
    settings: record.settings,
    meta: {},
    comment: record.comment,
    tags: record.tags,
    created_on: record.createdOn,
    modified_on: record.modifiedOn,
    ...(record.commentModifiedOn ? { comment_modified_on: record.commentModifiedOn } : {}),
    ...(record.tagsModifiedOn ? { tags_modified_on: record.tagsModifiedOn } : {}),
  };
}

// --- Validation ---------------------------------------------------------------------------

interface RecordFields {
  type: string;
  name: string;
  content: string;
  proxied: boolean;
  ttl: number;
  priority?: number;
  comment: string | null;
  tags: string[];
  settings: Record<string, unknown>;
}

/** Fully qualified, lower-case Punycode; relative names and `@` are taken under the zone. */
export function qualifyName(name: string, zoneName: string): string {
  const trimmed = name.trim().replace(/\.$/, '').toLowerCase();
  if (trimmed === '@' || trimmed === '') return zoneName;
  const ascii = domainToASCII(trimmed);
  if (ascii === '') throw invalid.name();
  const full = ascii === zoneName || ascii.endsWith(`.${zoneName}`) ? ascii : `${ascii}.${zoneName}`;
  const labels = full.split('.');
  const labelOk = (l: string, i: number) =>
    (l === '*' && i === 0) || /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/.test(l);
  if (full.length > 253 || !labels.every(labelOk)) throw invalid.name();
  return full;
}

function normalizeHostname(content: string, type: string): string {
  const host = domainToASCII(content.trim().replace(/\.$/, '').toLowerCase());
  if (!host || !/^[a-z0-9_*](?:[a-z0-9_.-]*[a-z0-9_])?$/.test(host) || host.includes('..')) {
    throw invalid.hostname(type);
  }
  return host;
}

/** Reads a create/PUT body (`base` undefined) or a PATCH body merged over `base`. */
function readRecord(body: JsonObject, base?: RecordFields): RecordFields {
  const f = fields(body, invalid.request);
  const required = base === undefined;
  const type = (f.string('type', { required }) ?? base?.type ?? '').toUpperCase();
  const name = f.string('name', { required }) ?? base?.name ?? '';
  const content = f.string('content') ?? (base?.type === type ? base.content : undefined);
  if (content === undefined) throw invalid.request('content is required');
  const comment = 'comment' in body ? (f.string('comment') ?? null) : (base?.comment ?? null);
  const tagsRaw = f.array('tags');
  const tags =
    tagsRaw === undefined ? (base?.tags ?? []) : tagsRaw.map((t) => (typeof t === 'string' ? t : ''));
  const settings = f.object('settings') ?? base?.settings ?? {};
  const priority = f.number('priority') ?? (base?.type === type ? base.priority : undefined);
  return {
    type,
    name,
    content,
    proxied: f.boolean('proxied') ?? base?.proxied ?? false,
    ttl: f.number('ttl') ?? base?.ttl ?? 1,
    ...(priority !== undefined ? { priority } : {}),
    comment: comment === '' ? null : comment,
    tags,
    settings,
  };
}

function validateRecord(input: RecordFields, zone: ZoneRow, limits: PlanLimits): RecordFields {
  if (!(SUPPORTED_TYPES as readonly string[]).includes(input.type)) throw invalid.type(input.type);
  const name = qualifyName(input.name, zone.name);
  let content = input.content;
  if (input.type === 'A' && !isIPv4(content)) throw invalid.ipv4();
  if (input.type === 'AAAA' && !isIPv6(content)) throw invalid.ipv6();
  if (HOSTNAME_CONTENT.has(input.type)) content = normalizeHostname(content, input.type);
  if (input.type === 'CNAME' && content === name) throw invalid.selfReference();
  if (input.type === 'TXT' && content.length > 2048)
    throw invalid.request('TXT content is limited to 2048 characters.');
  if (input.proxied && !PROXIABLE.has(input.type)) throw invalid.proxied();
  if (!Number.isInteger(input.ttl) || (input.ttl !== 1 && (input.ttl < 60 || input.ttl > 86400)))
    throw invalid.ttl();
  let priority = input.priority;
  if (input.type === 'MX') {
    if (priority === undefined || !Number.isInteger(priority) || priority < 0 || priority > 65535)
      throw invalid.priority();
  } else {
    priority = undefined;
  }
  if (input.comment !== null) {
    if (/[\r\n]/.test(input.comment)) throw invalid.commentNewline();
    if ([...input.comment].length > limits.commentMaxLength) throw invalid.comment(limits.commentMaxLength);
  }
  if (input.tags.length > 0) {
    if (!limits.tags) throw invalid.tagsUnavailable();
    if (input.tags.length > 20) throw invalid.tooManyTags();
    for (const tag of input.tags) {
      const [tagName = '', ...rest] = tag.split(':');
      if (!/^[A-Za-z0-9_-]{1,32}$/.test(tagName) || rest.join(':').length > 100) throw invalid.tag(tag);
    }
  }
  return {
    ...input,
    name,
    content,
    ttl: input.proxied ? 1 : input.ttl,
    ...(priority !== undefined ? { priority } : { priority: undefined }),
  };
}

/** IPv6 in its canonical text form (lower case, zeros compressed), e.g. `2001:db8::1`. */
function canonicalIPv6(address: string): string {
  try {
    return new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return address.toLowerCase();
  }
}

/**
 * The form in which two contents of `type` are the same record: hostnames (already
 * normalised to lower-case Punycode) as stored, AAAA as the canonical address, and TXT
 * and everything else exactly as sent (TXT content is case-sensitive).
 */
function contentKey(type: string, content: string): string {
  return type === 'AAAA' ? canonicalIPv6(content) : content;
}

function checkConflicts(
  records: readonly DnsRecordRow[],
  zoneId: string,
  candidate: RecordFields,
  selfId?: string,
): void {
  const sameName = records.filter((r) => r.zoneId === zoneId && r.id !== selfId && r.name === candidate.name);
  const key = contentKey(candidate.type, candidate.content);
  const identical = sameName.some(
    (r) =>
      r.type === candidate.type && contentKey(r.type, r.content) === key && r.priority === candidate.priority,
  );
  if (identical) throw apiErrors.dnsDuplicate();
  if (candidate.type === 'CNAME' && sameName.some((r) => PROXIABLE.has(r.type)))
    throw apiErrors.dnsCnameConflict();
  if ((candidate.type === 'A' || candidate.type === 'AAAA') && sameName.some((r) => r.type === 'CNAME')) {
    throw apiErrors.dnsCnameExists();
  }
}

function toFields(record: DnsRecordRow): RecordFields {
  return {
    type: record.type,
    name: record.name,
    content: record.content,
    proxied: record.proxied,
    ttl: record.ttl,
    ...(record.priority !== undefined ? { priority: record.priority } : {}),
    comment: record.comment,
    tags: record.tags,
    settings: record.settings,
  };
}

// --- Operations on a record list (the live one, or a batch's working copy) ------------------

interface ZoneContext {
  zone: ZoneRow;
  limits: PlanLimits;
  records: DnsRecordRow[];
}

function findRecord(zc: ZoneContext, id: unknown): DnsRecordRow {
  const record =
    typeof id === 'string' ? zc.records.find((r) => r.id === id && r.zoneId === zc.zone.id) : undefined;
  if (!record) throw apiErrors.dnsRecordNotFound();
  return record;
}

function applyFields(record: DnsRecordRow, next: RecordFields, now: string): void {
  if (next.comment !== record.comment) record.commentModifiedOn = next.comment === null ? undefined : now;
  if (next.tags.join('\n') !== record.tags.join('\n'))
    record.tagsModifiedOn = next.tags.length ? now : undefined;
  record.type = next.type;
  record.name = next.name;
  record.content = next.content;
  record.proxied = next.proxied;
  record.ttl = next.ttl;
  record.priority = next.priority;
  record.comment = next.comment;
  record.tags = next.tags;
  record.settings = next.settings;
  record.modifiedOn = now;
  if (record.priority === undefined) delete record.priority;
  if (record.commentModifiedOn === undefined) delete record.commentModifiedOn;
  if (record.tagsModifiedOn === undefined) delete record.tagsModifiedOn;
}

function createRecord(zc: ZoneContext, body: unknown): DnsRecordRow {
  const next = validateRecord(readRecord(bodyObject(body, invalid.request)), zc.zone, zc.limits);
  checkConflicts(zc.records, zc.zone.id, next);
  if (zc.records.filter((r) => r.zoneId === zc.zone.id).length >= zc.limits.recordQuota) {
    throw apiErrors.dnsQuotaExceeded();
  }
  const now = timestamp();
  const record: DnsRecordRow = {
    id: hexId(),
    zoneId: zc.zone.id,
    type: next.type,
    name: next.name,
    content: next.content,
    proxied: next.proxied,
    ttl: next.ttl,
    comment: next.comment,
    tags: next.tags,
    settings: next.settings,
    createdOn: now,
    modifiedOn: now,
    ...(next.priority !== undefined ? { priority: next.priority } : {}),
    ...(next.comment !== null ? { commentModifiedOn: now } : {}),
    ...(next.tags.length ? { tagsModifiedOn: now } : {}),
  };
  zc.records.push(record);
  return record;
}

function updateRecord(zc: ZoneContext, id: unknown, body: unknown, mode: 'put' | 'patch'): DnsRecordRow {
  const record = findRecord(zc, id);
  const obj = bodyObject(body, invalid.request);
  const next = validateRecord(
    readRecord(obj, mode === 'patch' ? toFields(record) : undefined),
    zc.zone,
    zc.limits,
  );
  checkConflicts(zc.records, zc.zone.id, next, record.id);
  applyFields(record, next, timestamp());
  return record;
}

function deleteRecord(zc: ZoneContext, id: unknown): DnsRecordRow {
  const record = findRecord(zc, id);
  zc.records.splice(zc.records.indexOf(record), 1);
  return record;
}

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

function listRecords(store: Store, zone: ZoneRow, q: URLSearchParams) {
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

// --- Routes -------------------------------------------------------------------------------

export function dnsRoutes(store: Store): Route[] {
  const base = '/zones/:zone/dns_records';
  const zoneContext = (ctx: RouteContext, records = store.state.dnsRecords): ZoneContext => {
    const zone = store.state.zones.find((z) => z.id === ctx.params.zone);
    if (!zone) throw apiErrors.noRoute(ctx.path); // the server checks scope first; kept for safety
    return { zone, limits: planLimits[zone.plan], records };
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
