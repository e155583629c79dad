// DNS record fields (`/zones/:zone/dns_records…`, reference §3): the record shape as
// rendered, and the reading, validation and conflict checks of a record's fields. Names are
// stored fully qualified in Punycode; a CNAME never shares a name with an A/AAAA/CNAME
// (81053/81054) and no two records are identical (81057: names and hostname contents
// compare case-insensitively, TXT content exactly, AAAA by address); proxied records have
// TTL 1; comment length and tags follow the zone's plan.
import { isIPv4, isIPv6 } from 'node:net';
import { domainToASCII } from 'node:url';
import { apiErrors } from './errors.js';
import { fields, type JsonObject } from './input.js';
import type { PlanLimits } from './plans.js';
import type { DnsRecordRow, ZoneRow } from './state.js';

const SUPPORTED_TYPES = ['A', 'AAAA', 'CNAME', 'TXT', 'MX', 'NS', 'PTR'] as const;
const PROXIABLE = new Set(['A', 'AAAA', 'CNAME']);
const HOSTNAME_CONTENT = new Set(['CNAME', 'MX', 'NS', 'PTR']);

// Validation codes other than 9005 are UNVERIFIED stand-ins (see docs/emulators.md).
export const invalid = {
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

/** What a request may set on a record: the row without its ids and times. */
export type RecordFields = Omit<
  DnsRecordRow,
  'id' | 'zoneId' | 'createdOn' | 'modifiedOn' | 'commentModifiedOn' | 'tagsModifiedOn'
>;

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
export function readRecord(body: JsonObject, base?: RecordFields): RecordFields {
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

export function validateRecord(input: RecordFields, zone: ZoneRow, limits: PlanLimits): RecordFields {
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

export function checkConflicts(
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

export function toFields(record: DnsRecordRow): RecordFields {
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
