/**
 * Source-IP allow-lists and Access for people on HTTP routes: what a user may ask for, parsed
 * strictly (ipaddr.js) into the canonical forms Cloudflare's parsers accept, so one user's entry
 * can never be refused by Cloudflare (domain/access-policies.ts turns them into the route's own
 * Access policies).
 */
import ipaddr from 'ipaddr.js';
import { AppError } from './errors.js';

export const MAX_ALLOW_ENTRIES = 50;

const refuse = (raw: string, why: string) => {
  const entry = raw.slice(0, 60);
  return new AppError(
    'route.invalid_allow_list',
    `${JSON.stringify(entry)} is not an allow-list entry: ${why}.`,
    {
      entry,
    },
  );
};

/**
 * One address or CIDR range, canonical: IPv4 in four decimal parts without leading zeros, IPv6
 * compressed and lowercase (RFC 5952), no zone id, a decimal prefix without leading zeros and in
 * range, no host bits below the prefix; a full-length prefix is the bare address.
 */
export function parseAllowEntry(raw: string): string {
  const item = String(raw).trim();
  if (item === '') throw refuse(raw, 'it is empty');
  const parts = item.split('/');
  if (parts.length > 2) throw refuse(raw, 'use one address or one address/prefix (e.g. 203.0.113.0/24)');
  const [addr, prefix] = parts as [string, string | undefined];
  if (addr.includes('%')) throw refuse(raw, 'zone ids (the part after %) are not allowed');
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  if (ipaddr.IPv4.isValidFourPartDecimal(addr)) parsed = ipaddr.IPv4.parse(addr);
  else if (addr.includes(':') && ipaddr.IPv6.isValid(addr)) parsed = ipaddr.IPv6.parse(addr);
  else
    throw refuse(
      raw,
      'it is not an IPv4 address in four decimal parts or an IPv6 address (e.g. 203.0.113.7, 2001:db8::1)',
    );
  const max = parsed.kind() === 'ipv4' ? 32 : 128;
  if (prefix === undefined) return parsed.toString();
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefix) || Number(prefix) > max)
    throw refuse(raw, `the prefix must be a number from 0 to ${max} without leading zeros`);
  const bits = Number(prefix);
  if (bits === max) return parsed.toString();
  const network = (
    parsed.kind() === 'ipv4'
      ? ipaddr.IPv4.networkAddressFromCIDR(`${addr}/${bits}`)
      : ipaddr.IPv6.networkAddressFromCIDR(`${addr}/${bits}`)
  ).toString();
  if (network !== parsed.toString())
    throw refuse(raw, `it has bits set below the /${bits} prefix; the range is ${network}/${bits}`);
  return `${network}/${bits}`;
}

/** Validates and normalises an allow-list: canonical entries, no duplicates, sorted. */
export function parseAllowList(items: readonly string[]): string[] {
  if (items.length > MAX_ALLOW_ENTRIES) {
    throw new AppError(
      'route.invalid_allow_list',
      `An allow-list holds at most ${MAX_ALLOW_ENTRIES} entries.`,
      {
        entries: items.length,
      },
    );
  }
  const out = new Set(items.map(parseAllowEntry));
  if (out.size === 0)
    throw new AppError('route.invalid_allow_list', 'An allow-list needs at least one address or range.');
  return [...out].sort();
}

const EMAIL = /^[^\s@]{1,64}@[a-z0-9.-]{1,253}\.[a-z]{2,}$/i;
const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,}$/i;

/**
 * Cloudflare Access for people on an HTTP route: who may sign in (emails and/or email domains).
 * TCP-like routes are always protected by a service token instead.
 */
export function parseAccessRule(
  input: { emails?: string[]; emailDomains?: string[]; groupsCount?: number },
  tcpLike: boolean,
): { emails: string[]; emailDomains: string[] } {
  if (tcpLike) {
    throw new AppError(
      'route.invalid_access',
      'TCP routes are always protected by a service token; `access` is for HTTP routes.',
    );
  }
  const emails = [...new Set((input.emails ?? []).map((e) => e.trim().toLowerCase()))];
  const emailDomains = [...new Set((input.emailDomains ?? []).map((d) => d.trim().toLowerCase()))];
  const bad = [...emails.filter((e) => !EMAIL.test(e)), ...emailDomains.filter((d) => !DOMAIN.test(d))];
  if (bad.length > 0)
    throw new AppError('route.invalid_access', `Not an email or domain: ${bad.slice(0, 3).join(', ')}.`, {
      entries: bad.slice(0, 10),
    });
  const groups = input.groupsCount ?? 0;
  if (emails.length + emailDomains.length + groups === 0)
    throw new AppError('route.invalid_access', 'Access needs at least one email, email domain or group.');
  if (emails.length + emailDomains.length + groups > 50)
    throw new AppError('route.invalid_access', 'Access rules hold at most 50 emails, domains and groups.');
  return { emails: emails.sort(), emailDomains: emailDomains.sort() };
}

const SESSION = /^(\d+)(m|h)$/;

/** An Access session length: whole minutes or hours (`30m`, `24h`), from 1 minute to 30 days. */
export function parseSessionDuration(input: string): string {
  const m = SESSION.exec(input.trim());
  const minutes = m ? Number(m[1]) * (m[2] === 'h' ? 60 : 1) : NaN;
  if (!m || !(minutes >= 1 && minutes <= 30 * 24 * 60))
    throw new AppError(
      'route.invalid_access',
      `access.sessionDuration ${JSON.stringify(input.slice(0, 32))} is invalid: give minutes or hours (30m, 24h), from 1m to 720h.`,
      { field: 'sessionDuration' },
    );
  return `${Number(m[1])}${m[2]}`;
}
