import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration, ttlFlag } from './duration.js';
import { UsageError } from './errors.js';

describe('parseDuration', () => {
  it.each([
    ['90s', 90],
    ['30m', 1800],
    ['2h', 7200],
    ['1d', 86_400],
    ['1h30m', 5400],
    ['1d2h3m4s', 93_784],
    ['8H', 28_800],
    [' 45m ', 2700],
  ])('%j is %d seconds', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  it.each(['', '90', '1.5h', '-1h', 'h', '2 h', '1w', 'soon', '1h 30m', `${'9'.repeat(400)}d`])(
    '%j is not a duration',
    (text) => {
      expect(parseDuration(text)).toBeNull();
    },
  );
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [45, '45s'],
    [90, '1m30s'],
    [3600, '1h'],
    [28_800, '8h'],
    [93_600, '1d2h'],
    [2_592_000, '30d'],
  ])('%d seconds is %j', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });
});

describe('ttlFlag', () => {
  it('is undefined when not given, seconds within a minute to 30 days', () => {
    expect(ttlFlag(undefined, ['share'])).toBeUndefined();
    expect(ttlFlag('1m', ['share'])).toBe(60);
    expect(ttlFlag('30d', ['share'])).toBe(2_592_000);
  });

  it.each([
    ['59s', "--ttl must be from 1m to 30d (the control plane's limits), not 59s"],
    ['30d1s', "--ttl must be from 1m to 30d (the control plane's limits), not 30d1s"],
    ['90', '--ttl must be a duration such as 90s, 30m, 2h, 1d or 1h30m, not "90"'],
  ])('refuses %j as a usage error of the command', (value, message) => {
    let caught: unknown;
    try {
      ttlFlag(value, ['share']);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UsageError);
    expect(caught).toMatchObject({ message, command: ['share'], exitCode: 2, code: 'cli.usage' });
  });
});
