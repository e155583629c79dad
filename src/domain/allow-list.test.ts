import { describe, expect, it } from 'vitest';
import { parseAllowList, renderFirewallRules } from './allow-list.js';

describe('allow-lists', () => {
  it.each([
    [['203.0.113.7'], ['203.0.113.7']],
    [['198.51.100.0/24', ' 203.0.113.7 ', '198.51.100.0/24'], ['198.51.100.0/24', '203.0.113.7']],
    [['2001:DB8::/32'], ['2001:db8::/32']],
  ])('normalises %j', (input, out) => expect(parseAllowList(input)).toEqual(out));

  it.each([[['']], [['1.2.3.4/33']], [['10.0.0.0/8/1']], [['example.com']], [['::1/129']], [[]], [Array.from({ length: 51 }, (_, i) => `10.0.0.${i}`)]])(
    'rejects %j',
    (input) => expect(() => parseAllowList(input)).toThrow(expect.objectContaining({ code: 'route.invalid_allow_list' })),
  );

  it('folds every host into one rule while it fits, then splits', () => {
    const entries = [
      { hostname: 'b.example.com', allow: ['10.0.0.0/8'] },
      { hostname: 'a.example.com', allow: ['203.0.113.7', '198.51.100.0/24'] },
    ];
    expect(renderFirewallRules(entries, 'tunnelplane-allowlist-')).toEqual([
      {
        ref: 'tunnelplane-allowlist-1',
        description: expect.any(String),
        action: 'block',
        expression:
          '(http.host eq "a.example.com" and not ip.src in {198.51.100.0/24 203.0.113.7}) or (http.host eq "b.example.com" and not ip.src in {10.0.0.0/8})',
      },
    ]);
    const many = Array.from({ length: 100 }, (_, i) => ({ hostname: `host${i}.example.com`, allow: ['10.0.0.0/8'] }));
    const rules = renderFirewallRules(many, 'tunnelplane-allowlist-');
    expect(rules.length).toBeGreaterThan(1);
    for (const r of rules) expect(r.expression.length).toBeLessThanOrEqual(4096);
    expect(rules.map((r) => r.ref)).toEqual(rules.map((_, i) => `tunnelplane-allowlist-${i + 1}`));
    expect(renderFirewallRules([], 'p-')).toEqual([]);
  });
});
