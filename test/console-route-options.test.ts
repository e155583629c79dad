/**
 * The console's route options (web/src/route-options.ts), table-driven: what a new route sends,
 * and what an edit sends — only what changed, null where something is cleared — beside the
 * origin options each service's scheme shows.
 */
import { describe, expect, it } from 'vitest';
import type { Route } from '../src/client/index.js';
import {
  changesOf,
  createInputOf,
  fits,
  ORIGIN_OPTIONS,
  schemeOf,
  valuesOf,
  type RouteValues,
} from '../web/src/route-options.js';

const route = (over: Partial<Route>): Route => ({
  name: 'app',
  hostname: 'app-web.example.com',
  service: 'http://localhost:8000',
  protocol: 'http',
  phase: 'ready',
  lastError: null,
  createdAt: '2026-01-01T00:00:00Z',
  inCluster: null,
  protectedBy: null,
  allowIps: null,
  access: null,
  originRequest: null,
  generation: 1,
  ...over,
});

const values = (over: Partial<RouteValues>): RouteValues => ({ ...valuesOf(), ...over });

describe('a new route', () => {
  it.each<[string, Partial<RouteValues>, unknown]>([
    ['the service alone', { service: ' http://localhost:8000 ' }, { service: 'http://localhost:8000' }],
    [
      'an allow-list',
      { service: 'http://a:1', guard: 'allow', ips: '203.0.113.7\n10.0.0.0/8, 192.0.2.0/24' },
      { service: 'http://a:1', allowIps: ['203.0.113.7', '10.0.0.0/8', '192.0.2.0/24'] },
    ],
    [
      'Access with groups, a session length and an allow-list beside it',
      {
        service: 'http://a:1',
        guard: 'access',
        emails: 'ada@example.com',
        groups: 'eng\nops',
        session: '12h',
        ips: '203.0.113.0/24',
      },
      {
        service: 'http://a:1',
        allowIps: ['203.0.113.0/24'],
        access: {
          emails: ['ada@example.com'],
          emailDomains: [],
          groups: ['eng', 'ops'],
          sessionDuration: '12h',
        },
      },
    ],
    [
      'a list typed under a choice not taken is not sent',
      { service: 'http://a:1', guard: 'open', ips: '203.0.113.7', emails: 'ada@example.com' },
      { service: 'http://a:1' },
    ],
    [
      'only the origin options filled: seconds as numbers, durations as typed',
      {
        service: 'https://a:1',
        origin: {
          httpHostHeader: ' app.internal ',
          connectTimeout: '10',
          tlsTimeout: '1m30s',
          keepAliveConnections: '5',
          originServerName: '',
          noTLSVerify: true,
          http2Origin: false,
          access: true,
        },
      },
      {
        service: 'https://a:1',
        originRequest: {
          httpHostHeader: 'app.internal',
          connectTimeout: 10,
          tlsTimeout: '1m30s',
          keepAliveConnections: 5,
          noTLSVerify: true,
          access: { required: true },
        },
      },
    ],
  ])('%s', (_, v, input) => {
    expect(createInputOf(values(v))).toEqual(input);
  });
});

describe('an edit sends only what changed', () => {
  const protectedRoute = route({
    protectedBy: 'access',
    access: { emails: ['ada@example.com'], emailDomains: ['example.com'], sessionDuration: '12h' },
    originRequest: { connectTimeout: 10, access: { required: true, teamName: 'acme' } },
  });
  it.each<[string, Route, (v: RouteValues) => Partial<RouteValues>, unknown]>([
    ['nothing', protectedRoute, () => ({}), {}],
    [
      'the service',
      protectedRoute,
      () => ({ service: 'http://localhost:8001' }),
      { service: 'http://localhost:8001' },
    ],
    [
      'the session length: the whole access, as it now is',
      protectedRoute,
      () => ({ session: '30m' }),
      { access: { emails: ['ada@example.com'], emailDomains: ['example.com'], sessionDuration: '30m' } },
    ],
    [
      'Access for everyone: access and the origin check cleared',
      protectedRoute,
      (v) => ({ guard: 'open', origin: { ...v.origin, access: false, connectTimeout: '' } }),
      { access: null, originRequest: null },
    ],
    [
      'an allow-list instead of nothing',
      route({}),
      () => ({ guard: 'allow', ips: '203.0.113.0/24' }),
      { allowIps: ['203.0.113.0/24'] },
    ],
    [
      'an allow-list removed',
      route({ protectedBy: 'allow-list', allowIps: ['203.0.113.0/24'] }),
      () => ({ guard: 'open' }),
      { allowIps: null },
    ],
    [
      'one origin option more: the whole set, the others kept',
      protectedRoute,
      (v) => ({ origin: { ...v.origin, httpHostHeader: 'app.internal' } }),
      { originRequest: { httpHostHeader: 'app.internal', connectTimeout: 10, access: { required: true } } },
    ],
  ])('%s', (_, r, change, expected) => {
    const before = valuesOf(r);
    expect(changesOf(before, { ...before, ...change(before) })).toEqual(expected);
  });

  it('reads a route back into the form as it was written', () => {
    expect(valuesOf(protectedRoute)).toEqual({
      service: 'http://localhost:8000',
      guard: 'access',
      ips: '',
      emails: 'ada@example.com',
      domains: 'example.com',
      groups: '',
      session: '12h',
      origin: { connectTimeout: '10', access: true },
    });
  });
});

describe('the origin options a service shows', () => {
  const shown = (service: string, mode: 'local' | 'remote') =>
    ORIGIN_OPTIONS.filter((o) => fits(o, schemeOf(service), mode)).map((o) => o.key);
  it.each<[string, 'local' | 'remote', string[]]>([
    [
      'http://a:1',
      'remote',
      [
        'httpHostHeader',
        'connectTimeout',
        'tcpKeepAlive',
        'keepAliveTimeout',
        'keepAliveConnections',
        'disableChunkedEncoding',
        'noHappyEyeballs',
      ],
    ],
    ['tcp://db:5432', 'remote', ['connectTimeout', 'tcpKeepAlive', 'noHappyEyeballs']],
    ['', 'remote', shown('http://x', 'remote')],
  ])('%s (%s)', (service, mode, keys) => {
    expect(shown(service, mode)).toEqual(keys);
  });

  it('TLS options for https; caPool only for local tunnels', () => {
    expect(shown('https://a:1', 'remote')).toContain('noTLSVerify');
    expect(shown('https://a:1', 'remote')).not.toContain('caPool');
    expect(shown('https://a:1', 'local')).toContain('caPool');
    expect(shown('http://a:1', 'local')).not.toContain('caPool');
  });
});
