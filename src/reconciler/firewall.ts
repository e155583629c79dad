/**
 * The zone's source-IP allow-lists as WAF custom rules (refs `tunnelplane-<id>-allowlist-N`). Every
 * allow-listed route's host is folded into as few rules as fit; only rules with our ref are
 * created, edited or deleted. A route is covered from before its DNS record exists until after
 * it is gone, so it is never reachable from outside its list. The hash of the last applied
 * rules skips identical writes; a lease keeps replicas from editing the rules at once.
 */
import { createHash } from 'node:crypto';
import { renderFirewallRules, type FirewallRuleSpec } from '../domain/allow-list.js';
import type { Ownership } from '../domain/ownership.js';
import { ProviderError } from '../domain/errors.js';
import type { Store } from '../store/index.js';
import type { CloudflareApi } from '../providers/cloudflare/index.js';
import { fail, type Work } from './work.js';

const HASH_KEY = 'firewall_hash';

export function createFirewall(deps: { store: Store; cloudflare: CloudflareApi; owner: string; ownership: Ownership }) {
  const { store, cloudflare } = deps;
  const refPrefix = deps.ownership.firewallRefPrefix;

  async function desired(): Promise<FirewallRuleSpec[]> {
    const rows = await store.work.allowListedRoutes();
    const covered = rows.filter((r) => (!r.deleting && !r.tunnel_deleting) || r.dns_record_id || r.dns_uncertain);
    return renderFirewallRules(
      covered.map((r) => ({ hostname: r.hostname, allow: JSON.parse(r.allow_ips!) as string[] })),
      refPrefix,
    );
  }

  /** Brings our rules to the desired set; returns whether anything was written. */
  async function apply(rules: FirewallRuleSpec[]): Promise<boolean> {
    const entry = await cloudflare.getFirewallEntrypoint();
    if (!entry) {
      if (rules.length === 0) return false;
      await cloudflare.createFirewallEntrypoint(rules);
      return true;
    }
    let wrote = false;
    const ours = new Map(entry.rules.filter((r) => r.ref.startsWith(refPrefix)).map((r) => [r.ref, r]));
    for (const rule of rules) {
      const current = ours.get(rule.ref);
      ours.delete(rule.ref);
      if (!current) {
        await cloudflare.createFirewallRule(entry.id, rule);
        wrote = true;
      } else if (current.expression !== rule.expression || current.description !== rule.description) {
        await cloudflare.updateFirewallRule(entry.id, current.id!, rule);
        wrote = true;
      }
    }
    for (const stale of ours.values()) {
      await cloudflare.deleteFirewallRule(entry.id, stale.id!);
      wrote = true;
    }
    return wrote;
  }

  return {
    /** Run around the DNS step for passes that touch allow-listed routes. */
    async sync(work: Work[]) {
      const involved = work.filter((w) => !w.outcome && w.routes.some((r) => r.allow_ips));
      if (involved.length === 0) return;
      try {
        const rules = await desired();
        const hash = createHash('sha256').update(JSON.stringify(rules)).digest('hex');
        if (hash === (await store.work.getSetting(HASH_KEY))) return;
        if (!(await store.work.tryLease('firewall', deps.owner, 30_000))) {
          throw new ProviderError({ provider: 'cloudflare', kind: 'transient', message: 'another replica is updating the firewall rules', retryAfterMs: 1000 });
        }
        await store.work.setSetting(HASH_KEY, null);
        await apply(rules);
        await store.work.setSetting(HASH_KEY, hash);
      } catch (err) {
        for (const w of involved) fail(w, err);
      }
    },

    /** Resync: our rules as Cloudflare holds them must equal the desired ones (hand edits are reverted). */
    async resync(): Promise<boolean> {
      const rules = await desired();
      const wrote = await apply(rules);
      await store.work.setSetting(HASH_KEY, createHash('sha256').update(JSON.stringify(rules)).digest('hex'));
      return wrote;
    },
  };
}
