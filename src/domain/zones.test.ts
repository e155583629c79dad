import { describe, expect, it } from 'vitest';
import { AppError } from './errors.js';
import { checkPins, chooseZone, createZones, defaultZoneFor, usableZones, type Zone } from './zones.js';

const zone = (name: string): Zone => ({ name, id: `id-${name}`, plan: 'Free Website', dnsBatchLimit: 200 });
const zones = createZones([zone('example.com'), zone('b.org'), zone('dev.example.com')], 'b.org');
const names = (list: readonly Zone[]) => list.map((z) => z.name);
const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err instanceof AppError ? [err.code, err.status] : String(err);
  }
  return null;
};

describe('createZones', () => {
  it('finds a zone by name (any case, a trailing dot) and a hostname by its longest zone', () => {
    expect(zones.byName('B.ORG.')?.id).toBe('id-b.org');
    expect(zones.byName('c.net')).toBeUndefined();
    expect(zones.forHostname('web-tun.dev.example.com')?.name).toBe('dev.example.com');
    expect(zones.forHostname('web-tun.example.com')?.name).toBe('example.com');
    expect(zones.forHostname('example.com')).toBeUndefined();
    expect(zones.forHostname('web-tun.notexample.com')).toBeUndefined();
  });
  it('refuses no zones, or a default that is not one of them', () => {
    expect(() => createZones([], 'a.com')).toThrow(/at least one/);
    expect(() => createZones([zone('a.com')], 'b.com')).toThrow(/not among/);
  });
});

describe('usableZones and the default', () => {
  const cases: Array<[string, string[], boolean, string[], string | null]> = [
    ['nothing pinned: every zone', [], false, ['example.com', 'b.org', 'dev.example.com'], 'b.org'],
    ['pinned to one zone', ['example.com'], false, ['example.com'], 'example.com'],
    [
      'pinned (own and teams) to two: the default when usable',
      ['b.org', 'dev.example.com'],
      false,
      ['b.org', 'dev.example.com'],
      'b.org',
    ],
    [
      'an admin: every zone, whatever is pinned',
      ['example.com'],
      true,
      ['example.com', 'b.org', 'dev.example.com'],
      'b.org',
    ],
    ['pinned only to a zone no longer configured: none', ['gone.net'], false, [], null],
  ];
  it.each(cases)('%s', (_, pins, admin, usable, def) => {
    const list = usableZones(zones, pins, admin);
    expect(names(list)).toEqual(usable);
    expect(defaultZoneFor(zones, list)?.name ?? null).toBe(def);
  });
});

describe('chooseZone', () => {
  const all = usableZones(zones, [], false);
  const pinned = usableZones(zones, ['example.com'], false);
  it('takes the one asked for, or the default', () => {
    expect(chooseZone(zones, all, undefined).name).toBe('b.org');
    expect(chooseZone(zones, all, 'Example.com').name).toBe('example.com');
    expect(chooseZone(zones, pinned, undefined).name).toBe('example.com');
  });
  it('refuses an unknown zone (422) and one not usable (403)', () => {
    expect(code(() => chooseZone(zones, all, 'c.net'))).toEqual(['route.unknown_zone', 422]);
    expect(code(() => chooseZone(zones, pinned, 'b.org'))).toEqual(['route.zone_forbidden', 403]);
    expect(code(() => chooseZone(zones, [], undefined))).toEqual(['route.zone_forbidden', 403]);
  });
});

describe('checkPins', () => {
  it('normalises and drops repeats; refuses a zone not configured', () => {
    expect(checkPins(zones, ['B.org', 'b.org.', 'example.com'])).toEqual(['b.org', 'example.com']);
    expect(checkPins(zones, [])).toEqual([]);
    expect(code(() => checkPins(zones, ['c.net']))).toEqual(['zone.unknown', 422]);
  });
});
