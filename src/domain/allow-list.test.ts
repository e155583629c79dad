import { describe, expect, it } from 'vitest';
import { parseAccessRule, parseAllowEntry, parseAllowList, parseSessionDuration } from './allow-list.js';

describe('allow-list entries', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    [' 203.0.113.7 ', '203.0.113.7'],
    ['198.51.100.0/24', '198.51.100.0/24'],
    ['10.0.0.0/8', '10.0.0.0/8'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['203.0.113.7/32', '203.0.113.7'],
    ['2001:DB8::/32', '2001:db8::/32'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8::1/128', '2001:db8::1'],
    ['::/0', '::/0'],
  ])('takes %j as %j', (input, out) => expect(parseAllowEntry(input)).toBe(out));

  it.each([
    ['', /empty/],
    ['fe80::1%eth0', /zone ids/],
    ['fe80::1%eth0/64', /zone ids/],
    ['10.0.0.0/024', /without leading zeros/],
    ['10.0.0.0/08', /without leading zeros/],
    ['10.0.0.1/24', /bits set below the \/24 prefix; the range is 10\.0\.0\.0\/24/],
    ['2001:db8::1/32', /the range is 2001:db8::\/32/],
    ['1.2.3.4/33', /from 0 to 32/],
    ['::1/129', /from 0 to 128/],
    ['10.0.0.0/8/1', /one address or one address\/prefix/],
    ['010.0.0.1', /four decimal parts/],
    ['10.1', /four decimal parts/],
    ['0x7f.0.0.1', /four decimal parts/],
    ['example.com', /not an IPv4 address/],
    ['1::2::3', /not an IPv4 address/],
    ['10.0.0.0/', /prefix must be a number/],
    ['10.0.0.0/ 8', /prefix must be a number/],
  ])('refuses %j with a message', (input, why) => {
    expect(() => parseAllowEntry(input)).toThrow(
      expect.objectContaining({ code: 'route.invalid_allow_list', message: expect.stringMatching(why) }),
    );
  });
});

describe('allow-lists', () => {
  it('normalises, deduplicates and sorts', () => {
    expect(parseAllowList(['198.51.100.0/24', ' 203.0.113.7 ', '198.51.100.0/24', '203.0.113.7/32'])).toEqual(
      ['198.51.100.0/24', '203.0.113.7'],
    );
  });
  it.each([[[]], [Array.from({ length: 51 }, (_, i) => `10.0.0.${i}`)]])('rejects %j', (input) =>
    expect(() => parseAllowList(input)).toThrow(
      expect.objectContaining({ code: 'route.invalid_allow_list' }),
    ),
  );
});

describe('Access session length', () => {
  it.each([
    ['30m', '30m'],
    ['24h', '24h'],
    ['720h', '720h'],
    ['08h', '8h'],
  ])('%s is %s', (input, out) => expect(parseSessionDuration(input)).toBe(out));
  it.each(['0m', '721h', '1d', '1.5h', '', '10s'])('%s is refused', (input) =>
    expect(() => parseSessionDuration(input)).toThrow(/sessionDuration/),
  );
  it('lets groups stand in for emails', () => {
    expect(parseAccessRule({ groupsCount: 1 }, false)).toEqual({ emails: [], emailDomains: [] });
    expect(() => parseAccessRule({}, false)).toThrow(/at least one/);
  });
});
