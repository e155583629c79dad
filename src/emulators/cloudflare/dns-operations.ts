// DNS record operations on a record list — the live one, or a batch's working copy — for
// one zone: find, create (with the plan's record quota), PUT/PATCH update and delete. Each
// validates and checks conflicts before it mutates the list.
import { apiErrors } from './errors.js';
import { hexId, timestamp } from './ids.js';
import { bodyObject } from './input.js';
import type { PlanLimits } from './plans.js';
import type { DnsRecordRow, ZoneRow } from './state.js';
import {
  checkConflicts,
  invalid,
  readRecord,
  toFields,
  validateRecord,
  type RecordFields,
} from './dns-records.js';

// --- Operations on a record list (the live one, or a batch's working copy) ------------------

export interface ZoneContext {
  zone: ZoneRow;
  limits: PlanLimits;
  records: DnsRecordRow[];
}

export function findRecord(zc: ZoneContext, id: unknown): DnsRecordRow {
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

export function createRecord(zc: ZoneContext, body: unknown): DnsRecordRow {
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

export function updateRecord(
  zc: ZoneContext,
  id: unknown,
  body: unknown,
  mode: 'put' | 'patch',
): DnsRecordRow {
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

export function deleteRecord(zc: ZoneContext, id: unknown): DnsRecordRow {
  const record = findRecord(zc, id);
  zc.records.splice(zc.records.indexOf(record), 1);
  return record;
}
