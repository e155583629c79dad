import { describe, expect, it } from 'vitest';
import { eventMatcher } from './event-filter.js';

describe('eventMatcher', () => {
  it.each<[string[], string, boolean]>([
    [['*'], 'tunnel.create', true],
    [['*'], 'webhook.test', true],
    [['tunnel.*'], 'tunnel.create', true],
    [['tunnel.*'], 'tunnel.ready', true],
    [['tunnel.*'], 'tunnels.create', false],
    [['tunnel.*'], 'route.create', false],
    [['tunnel*'], 'tunnels.create', true],
    [['route.expired'], 'route.expired', true],
    [['route.expired'], 'route.expired_soon', false],
    [['route.expired'], 'route', false],
    [['route.expired', 'tunnel.*'], 'tunnel.deleted', true],
    [['route.expired', 'tunnel.*'], 'route.create', false],
  ])('%j matches %s: %s', (patterns, action, expected) => {
    expect(eventMatcher(patterns)(action)).toBe(expected);
  });
});
