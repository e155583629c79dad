/**
 * Source-IP allow-lists for HTTP routes (the proof of concept's "other consideration"),
 * enforced by Cloudflare WAF custom rules. Free zones have 5 custom rules, so every route's
 * allow-list is folded into as few rules as the expression length allows: a request is blocked
 * when its host is one of ours and its source address is not in that host's list.
 */
import { isIP } from 'node:net';
import { invalid } from './errors.js';

export const MAX_ALLOW_ENTRIES = 50;
/** Cloudflare caps a rule expression at 4,096 characters. */
export const MAX_EXPRESSION_LENGTH = 4096;

/** Validates and normalises addresses and CIDR ranges (IPv4 /0–32, IPv6 /0–128). */
export function parseAllowList(items: readonly string[]): string[] {
  if (items.length > MAX_ALLOW_ENTRIES) {
    throw invalid('route.invalid_allow_list', `An allow-list holds at most ${MAX_ALLOW_ENTRIES} entries.`, { entries: items.length });
  }
  const out = new Set<string>();
  for (const raw of items) {
    const item = String(raw).trim().toLowerCase();
    const [addr, prefix, extra] = item.split('/');
    const family = isIP(addr ?? '');
    const max = family === 4 ? 32 : 128;
    const ok =
      family !== 0 &&
      extra === undefined &&
      (prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= max));
    if (!ok) {
      throw invalid('route.invalid_allow_list', `${JSON.stringify(String(raw).slice(0, 60))} is not an IP address or CIDR range (e.g. 203.0.113.0/24).`, {
        entry: String(raw).slice(0, 60),
      });
    }
    out.add(item);
  }
  if (out.size === 0) throw invalid('route.invalid_allow_list', 'An allow-list needs at least one address or range.');
  return [...out].sort();
}

export interface FirewallRuleSpec {
  ref: string;
  description: string;
  expression: string;
  action: 'block';
}

/** The rules blocking every listed host for sources outside its list; deterministic for equal input. */
export function renderFirewallRules(
  entries: ReadonlyArray<{ hostname: string; allow: readonly string[] }>,
  refPrefix: string,
  maxLength = MAX_EXPRESSION_LENGTH,
): FirewallRuleSpec[] {
  const terms = [...entries]
    .sort((a, b) => a.hostname.localeCompare(b.hostname))
    .map((e) => `(http.host eq "${e.hostname}" and not ip.src in {${[...e.allow].sort().join(' ')}})`);
  const groups: string[][] = [];
  let current: string[] = [];
  let length = 0;
  for (const term of terms) {
    if (current.length > 0 && length + 4 + term.length > maxLength) {
      groups.push(current);
      current = [];
      length = 0;
    }
    current.push(term);
    length += (current.length > 1 ? 4 : 0) + term.length;
  }
  if (current.length > 0) groups.push(current);
  return groups.map((g, i) => ({
    ref: `${refPrefix}${i + 1}`,
    description: 'Tunnelplane: source-IP allow-lists of its routes (managed: edits are reverted)',
    expression: g.join(' or '),
    action: 'block' as const,
  }));
}

const EMAIL = /^[^\s@]{1,64}@[a-z0-9.-]{1,253}\.[a-z]{2,}$/i;
const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,}$/i;

/**
 * Cloudflare Access for people on an HTTP route: who may sign in (emails and/or email domains).
 * TCP-like routes are always protected by a service token instead.
 */
export function parseAccessRule(input: { emails?: string[]; emailDomains?: string[] }, tcpLike: boolean): { emails: string[]; emailDomains: string[] } {
  if (tcpLike) {
    throw invalid('route.invalid_access', 'TCP routes are always protected by a service token; `access` is for HTTP routes.');
  }
  const emails = [...new Set((input.emails ?? []).map((e) => e.trim().toLowerCase()))];
  const emailDomains = [...new Set((input.emailDomains ?? []).map((d) => d.trim().toLowerCase()))];
  const bad = [...emails.filter((e) => !EMAIL.test(e)), ...emailDomains.filter((d) => !DOMAIN.test(d))];
  if (bad.length > 0) throw invalid('route.invalid_access', `Not an email or domain: ${bad.slice(0, 3).join(', ')}.`, { entries: bad.slice(0, 10) });
  if (emails.length + emailDomains.length === 0) throw invalid('route.invalid_access', 'Access needs at least one email or email domain.');
  if (emails.length + emailDomains.length > 50) throw invalid('route.invalid_access', 'Access rules hold at most 50 emails and domains.');
  return { emails: emails.sort(), emailDomains: emailDomains.sort() };
}
