import { describe, expect, it } from 'vitest';
import {
  accessObjectName,
  assertRouteName,
  assertTunnelName,
  chosenHostname,
  isReservedLabel,
  ownerPrefix,
  randomLabel,
  routeHostname,
} from './names.js';
import { ownership } from './ownership.js';

describe('names', () => {
  it('draws 8 random lowercase letters', () => {
    const seen = new Set(Array.from({ length: 50 }, () => randomLabel()));
    for (const l of seen) expect(l).toMatch(/^[a-z]{8}$/);
    expect(seen.size).toBe(50);
  });

  it.each(['abcdefgh', 'a', 'my-tunnel', 'a1', 'x'.repeat(24)])('accepts tunnel name %s', (n) => {
    expect(assertTunnelName(n)).toBe(n);
  });
  it.each(['', 'ABC', 'a/b', '..', '%2e%2e', '-a', 'a-', 'a--b', '1abc', 'x'.repeat(25), 'a b', 'é'])(
    'rejects tunnel name %j',
    (n) => {
      expect(() => assertTunnelName(n)).toThrow(/invalid/);
    },
  );
  it.each(['web', '1db', 'x'.repeat(24)])('accepts route name %s', (n) => expect(assertRouteName(n)).toBe(n));
  it.each(['', 'Web', 'a_b', '-a', 'a-b', 'a.b', 'x'.repeat(25)])('rejects route name %j', (n) => {
    expect(() => assertRouteName(n)).toThrow(/invalid/);
  });

  it('keeps hostnames one label under the zone and access objects within 63 characters', () => {
    expect(routeHostname('abc', 'tun', 'Example.COM')).toBe('abc-tun.example.com');
    const longest = accessObjectName('r'.repeat(24), 't'.repeat(24));
    expect(longest.length).toBeLessThanOrEqual(63);
  });

  it('round-trips the DNS ownership comment within the Free plan limit, per installation', () => {
    const o = ownership('x'.repeat(12));
    const c = o.dnsComment('t'.repeat(24), 'r'.repeat(24));
    expect(c.length).toBeLessThanOrEqual(100);
    expect(o.parseDnsComment(c)).toEqual({ tunnel: 't'.repeat(24), route: 'r'.repeat(24) });
    expect(o.parseDnsComment('set by hand')).toBeNull();
    expect(o.parseDnsComment(null)).toBeNull();
    expect(ownership('other').parseDnsComment(c)).toBeNull();
    expect(ownership('abc').tunnelName('t')).toBe('tunnelplane-abc-t');
    expect(ownership('abc').tunnelPrefix).not.toBe(
      ownership('abcd').tunnelPrefix.slice(0, ownership('abc').tunnelPrefix.length + 1),
    );
    expect(() => ownership('Bad-Id')).toThrow(/instance/);
  });
});

describe('chosen hostnames', () => {
  const policy = { reserved: ['www', 'ns*', '*-internal'], prefix: null };
  const codeOf = (input: string, p: Parameters<typeof chosenHostname>[2] = policy) => {
    try {
      return chosenHostname(input, 'Example.com', p);
    } catch (err) {
      return (err as { code: string }).code;
    }
  };
  it.each([
    ['myapp', 'myapp.example.com'],
    ['MyApp.example.com', 'myapp.example.com'],
    ['my-app.example.com.', 'my-app.example.com'],
    ['a.b', 'route.invalid_hostname'],
    ['a.b.example.com', 'route.invalid_hostname'],
    ['xn--abc', 'route.invalid_hostname'],
    ['-a', 'route.invalid_hostname'],
    ['a'.repeat(64), 'route.invalid_hostname'],
    ['www', 'route.hostname_reserved'],
    ['ns2', 'route.hostname_reserved'],
    ['db-internal', 'route.hostname_reserved'],
    ['internal', 'myapp.example.com'.replace('myapp', 'internal')],
  ])('%s → %s', (input, expected) => {
    expect(codeOf(input)).toBe(expected);
  });
  it("requires the owner's prefix when the operator asks", () => {
    const p = { reserved: [], prefix: ownerPrefix('team:Platform') };
    expect(p.prefix).toBe('platform-');
    expect(codeOf('platform-db', p)).toBe('platform-db.example.com');
    expect(codeOf('db', p)).toBe('route.hostname_prefix');
    expect(ownerPrefix('ada@example.org')).toBe('ada-example-org-');
    expect(isReservedLabel('tunnelplane-x', ['tunnelplane*'])).toBe(true);
    expect(isReservedLabel('a.b', ['a?b'])).toBe(false);
  });
});
