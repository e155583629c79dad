import { describe, expect, it } from 'vitest';
import { parseOriginRequest, parseSeconds, renderOriginRequest } from './origin-request.js';

const ctx = { scheme: 'https', configMode: 'local' as const, accessProtected: true, teamName: 'acme' };
const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as { code: string }).code;
  }
  return 'accepted';
};

describe('origin request options', () => {
  it('reads durations as cloudflared does: whole seconds or Go durations, in range', () => {
    expect(parseSeconds('connectTimeout', 30, 300)).toBe(30);
    expect(parseSeconds('connectTimeout', '1m30s', 300)).toBe(90);
    expect(() => parseSeconds('connectTimeout', '1500ms', 300)).toThrow(/whole seconds/);
    expect(parseSeconds('connectTimeout', '2000ms', 300)).toBe(2);
  });

  it.each([
    [{ connectTimeout: '1.5s' }, 'route.invalid_origin_request'], // not whole seconds: JSON takes integers
    [{ connectTimeout: 0 }, 'route.invalid_origin_request'],
    [{ connectTimeout: 301 }, 'route.invalid_origin_request'],
    [{ connectTimeout: '10 s' }, 'route.invalid_origin_request'],
    [{ keepAliveConnections: 2.5 }, 'route.invalid_origin_request'],
    [{ noTLSVerify: 'true' }, 'route.invalid_origin_request'],
    [{ originServerName: 'not a host' }, 'route.invalid_origin_request'],
    [{ httpHostHeader: 'app.internal:99999' }, 'route.invalid_origin_request'],
    [{ caPool: 'relative/ca.pem' }, 'route.invalid_origin_request'],
    [{ access: { required: true, audTag: ['x'] } }, 'route.invalid_origin_request'],
    [{ access: { required: true, teamName: 'other' } }, 'route.invalid_origin_request'],
    [{ proxyType: 'socks' }, 'route.invalid_origin_request'], // not an option Tunnelplane sets
    [{ httpHostHeader: 'app.internal:8080', connectTimeout: '2m', access: { required: true } }, 'accepted'],
  ])('%j: %s', (input, expected) => {
    expect(code(() => parseOriginRequest(input, ctx))).toBe(expected);
  });

  it('refuses options that mean nothing for the service, or the tunnel', () => {
    expect(code(() => parseOriginRequest({ noTLSVerify: true }, { ...ctx, scheme: 'http' }))).toBe(
      'route.invalid_origin_request',
    );
    expect(code(() => parseOriginRequest({ httpHostHeader: 'a' }, { ...ctx, scheme: 'tcp' }))).toBe(
      'route.invalid_origin_request',
    );
    expect(code(() => parseOriginRequest({ connectTimeout: 5 }, { ...ctx, scheme: 'tcp' }))).toBe('accepted');
    expect(code(() => parseOriginRequest({ caPool: '/ca.pem' }, { ...ctx, configMode: 'remote' }))).toBe(
      'route.invalid_origin_request',
    );
    expect(
      code(() => parseOriginRequest({ access: { required: true } }, { ...ctx, accessProtected: false })),
    ).toBe('route.invalid_origin_request');
    expect(code(() => parseOriginRequest({ access: { required: true } }, { ...ctx, teamName: null }))).toBe(
      'route.origin_option_unavailable',
    );
    expect(parseOriginRequest({}, ctx)).toBeNull();
    expect(parseOriginRequest(null, ctx)).toBeNull();
  });

  it('renders Go durations for config.yaml, integer seconds for the remote configuration, access once the audience is known', () => {
    const o = parseOriginRequest(
      { connectTimeout: '1m', noTLSVerify: true, access: { required: true } },
      ctx,
    )!;
    expect(renderOriginRequest(o, 'yaml', 'aud1')).toEqual({
      noTLSVerify: true,
      connectTimeout: '60s',
      access: { required: true, teamName: 'acme', audTag: ['aud1'] },
    });
    expect(renderOriginRequest(o, 'json', null)).toEqual({ noTLSVerify: true, connectTimeout: 60 });
  });
});
