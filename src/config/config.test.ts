import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, configuredZones, formatOriginCert, loadConfig, parseOriginCert } from './index.js';
import { configSchema } from './config-schema.js';
import { ENV } from './env-vars.js';

const dir = () => mkdtempSync(join(tmpdir(), 'tp-config-'));
const account = 'a'.repeat(32);
const zone = 'b'.repeat(32);

describe('configuration', () => {
  it('layers defaults, file, environment and flags', () => {
    const d = dir();
    const file = join(d, 'c.yaml');
    writeFileSync(
      file,
      'listen: {port: 6000}\ncloudflare: {apiToken: from-file, zoneName: example.com, accountId: ' +
        account +
        '}\nquotas: {tunnels: 3}\n',
    );
    const c = loadConfig({
      file,
      env: {
        TUNNELPLANE_CLOUDFLARE_API_TOKEN: 'from-env',
        TUNNELPLANE_PORT: '7000',
        TUNNELPLANE_KUBERNETES_IN_CLUSTER: 'true',
        TUNNELPLANE_CONFIG_MAX_DELAY_SECONDS: '2.5',
      },
      flags: { 'listen.port': '8000' },
    });
    expect(c.reconciler.configMaxDelaySeconds).toBe(2.5);
    expect(
      loadConfig({ file, env: { TUNNELPLANE_CLOUDFLARE_API_TOKEN: 'x' } }).reconciler.configMaxDelaySeconds,
    ).toBe(10);
    expect(c.kubernetes.inCluster).toBe(true);
    expect(c.cloudflare.apiToken).toBe('from-env');
    expect(c.listen.port).toBe(8000);
    expect(c.quotas).toEqual({ tunnels: 3, routes: 50, protectedRoutes: 20, tcpRoutes: 5 });
    expect(c.database.url).toBe('sqlite:./data/tunnelplane.db');
    expect(Object.isFrozen(c.cloudflare)).toBe(true);
  });

  it('reports every problem with its key', () => {
    const d = dir();
    const file = join(d, 'c.yaml');
    writeFileSync(
      file,
      'listen: {port: 99999}\nquotas: {tunnels: -1}\nbogus: 1\ncloudflare: {accountId: nothex}\nreconciler: {configMaxDelaySeconds: -1}\n',
    );
    try {
      loadConfig({ file, env: {} });
      expect.fail('accepted');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const text = (err as ConfigError).problems.join('\n');
      expect(text).toMatch(/listen\.port/);
      expect(text).toMatch(/quotas\.tunnels/);
      expect(text).toMatch(/bogus|Unrecognized/);
      expect(text).toMatch(/cloudflare\.accountId/);
      expect(text).toMatch(/reconciler\.configMaxDelaySeconds/);
      expect(text).toMatch(/cloudflare\.apiToken: required/);
      expect(text).toMatch(/cloudflare\.zoneName: required/);
    }
  });

  it('accepts the proof of concept secret/ layout and takes account, zone and token from cert.pem', () => {
    const d = dir();
    mkdirSync(join(d, 'secret'));
    writeFileSync(join(d, 'secret', 'users.json'), '{"user1":"user1password"}');
    writeFileSync(
      join(d, 'secret', 'cloudflared-cert.pem'),
      formatOriginCert({ zoneID: zone, accountID: account, apiToken: 'cert-token' }),
    );
    writeFileSync(
      join(d, 'secret', 'cloudflare.yaml'),
      'zone: example.com\ncert: secret/cloudflared-cert.pem\ndns_suffix: example.com\nkubeconfig: secret/kubeconfig\nnamespace: tunnel-control-plane\n',
    );
    const c = loadConfig({ secretDir: join(d, 'secret'), env: {} });
    expect(c.cloudflare).toMatchObject({
      zoneName: 'example.com',
      accountId: account,
      zoneId: zone,
      apiToken: 'cert-token',
    });
    expect(c.users.file).toBe(join(d, 'secret', 'users.json'));
    expect(c.kubernetes).toMatchObject({
      kubeconfig: join(d, 'secret', 'kubeconfig'),
      namespace: 'tunnel-control-plane',
    });
  });

  it('parses origin certificates like cloudflared, with its error messages', () => {
    const pem = formatOriginCert({ zoneID: zone, accountID: account, apiToken: 't' });
    expect(parseOriginCert('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' + pem)).toEqual({
      zoneID: zone,
      accountID: account,
      apiToken: 't',
    });
    expect(() => parseOriginCert(pem + pem)).toThrow('found multiple tokens in the certificate');
    expect(() => parseOriginCert('-----BEGIN FOO-----\nAA\n-----END FOO-----')).toThrow(
      'unknown block FOO in the certificate',
    );
    expect(() => parseOriginCert('')).toThrow('missing token in the certificate');
  });

  describe('listen.trustProxy', () => {
    const base = { TUNNELPLANE_CLOUDFLARE_API_TOKEN: 't', TUNNELPLANE_CLOUDFLARE_ZONE: 'example.com' };
    const load = (value: unknown, env?: string) =>
      loadConfig({
        env: { ...base, ...(env === undefined ? {} : { TUNNELPLANE_TRUST_PROXY: env }) },
        flags: value === undefined ? {} : { 'listen.trustProxy': value },
      }).listen.trustProxy;

    it('is off unless given', () => expect(load(undefined)).toBe(false));

    it.each<[string, unknown, string | undefined, unknown]>([
      ['true from the environment', undefined, 'true', true],
      ['false from the environment', undefined, 'false', false],
      [
        'a comma-separated list from the environment',
        undefined,
        '10.42.0.0/16, ::1,loopback',
        ['10.42.0.0/16', '::1', 'loopback'],
      ],
      [
        'a list',
        ['192.0.2.7', '2001:db8::/32', 'uniquelocal'],
        undefined,
        ['192.0.2.7', '2001:db8::/32', 'uniquelocal'],
      ],
      ['a boolean', true, undefined, true],
    ])('takes %s', (_what, value, env, expected) => expect(load(value, env)).toEqual(expected));

    it.each<[string, unknown, RegExp]>([
      ['a hop count', 1, /listen\.trustProxy: .*hop count/],
      [
        'an entry that is not an address',
        ['10.0.0.1', 'proxy.local'],
        /listen\.trustProxy\.1: "proxy\.local" is not an IP address/,
      ],
      ['a prefix too long', ['10.0.0.0/33'], /listen\.trustProxy\.0: /],
      ['a short IPv4 form', ['10.1'], /listen\.trustProxy\.0: /],
      ['an empty list', [], /listen\.trustProxy: list at least one proxy/],
    ])('refuses %s, naming the key', (_what, value, problem) => {
      try {
        load(value);
        expect.fail('accepted');
      } catch (err) {
        expect((err as ConfigError).problems.join('\n')).toMatch(problem);
      }
    });
  });
});

describe('the environment reaches every key', () => {
  /** The schema's leaf keys, through defaults, optionals and preprocessing. */
  function leaves(schema: unknown, path: string[] = []): string[] {
    let t = schema as { _zod?: { def: Record<string, any> } };
    for (let i = 0; i < 10; i++) {
      const d = t?._zod?.def;
      if (!d || d.type === 'object') break;
      if (d.innerType) t = d.innerType;
      else if (d.type === 'pipe') t = d.out?._zod?.def?.type === 'object' ? d.out : d.in;
      else break;
    }
    const d = t?._zod?.def;
    if (d?.type === 'object')
      return Object.entries(d.shape as Record<string, unknown>).flatMap(([k, v]) => leaves(v, [...path, k]));
    return [path.join('.')];
  }

  it('has a TUNNELPLANE_* variable for every configuration key (a ConfigMap and a Secret configure it all)', () => {
    const keys = leaves(configSchema);
    expect(keys.length).toBeGreaterThan(60);
    const mapped = new Set(Object.values(ENV));
    expect(keys.filter((k) => !mapped.has(k))).toEqual([]);
    expect([...mapped].filter((k) => !keys.includes(k))).toEqual([]);
  });

  it('reads lists from the environment comma-separated', () => {
    const c = loadConfig({
      env: {
        TUNNELPLANE_CLOUDFLARE_API_TOKEN: 't',
        TUNNELPLANE_CLOUDFLARE_ACCOUNT_ID: 'a'.repeat(32),
        TUNNELPLANE_CLOUDFLARE_ZONE: 'example.com',
        TUNNELPLANE_ADMINS: 'alice, bob',
        TUNNELPLANE_OIDC_ISSUER: 'https://idp.example.com',
        TUNNELPLANE_OIDC_CLIENT_ID: 'tp',
        TUNNELPLANE_OIDC_CLIENT_SECRET: 's',
        TUNNELPLANE_OIDC_ADMIN_GROUPS: 'ops,platform-admins',
      },
    });
    expect(c.users.admins).toEqual(['alice', 'bob']);
    expect(c.identity.oidc?.adminGroups).toEqual(['ops', 'platform-admins']);
    expect(c.identity.oidc?.scopes).toEqual(['openid', 'email', 'profile', 'groups']);
  });
});

describe('webhooks', () => {
  const base = { TUNNELPLANE_CLOUDFLARE_API_TOKEN: 't', TUNNELPLANE_CLOUDFLARE_ZONE: 'example.com' };

  it('reads the list from one JSON variable, with defaults, and a secret from a file', () => {
    const d = dir();
    writeFileSync(join(d, 'ops-secret'), 'from-a-file-0123456789\n');
    const c = loadConfig({
      env: {
        ...base,
        TUNNELPLANE_WEBHOOKS: JSON.stringify([
          { name: 'audit', url: 'https://hooks.example.com/tp', secret: 'sixteen-chars-ok' },
          {
            name: 'ops',
            url: 'http://10.0.0.5:8080/in',
            secretFile: join(d, 'ops-secret'),
            events: ['tunnel.*', 'route.expired'],
            timeoutMs: 2000,
          },
        ]),
        TUNNELPLANE_WEBHOOK_MAX_ATTEMPTS: '3',
      },
    });
    expect(c.webhooks).toEqual([
      {
        name: 'audit',
        url: 'https://hooks.example.com/tp',
        secret: 'sixteen-chars-ok',
        events: ['*'],
        timeoutMs: 5000,
      },
      {
        name: 'ops',
        url: 'http://10.0.0.5:8080/in',
        secretFile: join(d, 'ops-secret'),
        secret: 'from-a-file-0123456789',
        events: ['tunnel.*', 'route.expired'],
        timeoutMs: 2000,
      },
    ]);
    expect(c.webhookDelivery).toEqual({
      maxAttempts: 3,
      backoffBaseSeconds: 5,
      backoffMaxSeconds: 3600,
      pollMs: 1000,
    });
    expect(loadConfig({ env: base }).webhooks).toEqual([]);
  });

  it.each<[string, unknown, RegExp]>([
    ['JSON that does not parse', '[{"name":', /webhooks: not a JSON array/],
    ['a bad name', [{ name: 'Ops!', url: 'https://x.example', secret: 's'.repeat(16) }], /webhooks\.0\.name/],
    [
      'a URL that is not http(s)',
      [{ name: 'a', url: 'ftp://x.example', secret: 's'.repeat(16) }],
      /webhooks\.0\.url/,
    ],
    [
      'a short secret',
      [{ name: 'a', url: 'https://x.example', secret: 'short' }],
      /webhooks\.0\.secret: .*16/,
    ],
    ['no secret', [{ name: 'a', url: 'https://x.example' }], /webhooks\.0\.secret: give exactly one/],
    [
      'a bad event pattern',
      [{ name: 'a', url: 'https://x.example', secret: 's'.repeat(16), events: ['tun*el'] }],
      /webhooks\.0\.events\.0/,
    ],
    [
      'a name given twice',
      [
        { name: 'a', url: 'https://x.example', secret: 's'.repeat(16) },
        { name: 'a', url: 'https://y.example', secret: 's'.repeat(16) },
      ],
      /webhooks\.1\.name: a is named twice/,
    ],
    [
      'a missing secret file',
      [{ name: 'a', url: 'https://x.example', secretFile: '/nonexistent/secret' }],
      /webhooks\.0\.secretFile \(\/nonexistent\/secret\)/,
    ],
  ])('refuses %s, naming the key', (_what, value, problem) => {
    const env = typeof value === 'string' ? { ...base, TUNNELPLANE_WEBHOOKS: value } : base;
    const flags = typeof value === 'string' ? {} : { webhooks: value };
    try {
      loadConfig({ env, flags });
      expect.fail('accepted');
    } catch (err) {
      expect((err as ConfigError).problems.join('\n')).toMatch(problem);
    }
  });
});

describe('zones (issue 16)', () => {
  const base = { TUNNELPLANE_CLOUDFLARE_API_TOKEN: 't' };
  it('keeps the single zone (cloudflare.zoneName) first and the default, then the listed ones', () => {
    const c = loadConfig({
      env: {
        ...base,
        TUNNELPLANE_CLOUDFLARE_ZONE: 'example.com',
        TUNNELPLANE_CLOUDFLARE_ZONES: `B.org,c.net=${'c'.repeat(32)},example.com`,
      },
    });
    expect(c.cloudflare.zones).toEqual([
      { name: 'b.org' },
      { name: 'c.net', id: 'c'.repeat(32) },
      { name: 'example.com' },
    ]);
    const z = configuredZones(c.cloudflare);
    expect(z.zones.map((x) => [x.name, x.id, x.key])).toEqual([
      ['example.com', undefined, 'cloudflare.zoneName'],
      ['b.org', undefined, 'cloudflare.zones.0'],
      ['c.net', 'c'.repeat(32), 'cloudflare.zones.1'],
    ]);
    expect(z.defaultZone).toBe('example.com');
    expect(z.problems).toEqual([]);
  });

  it('takes zones alone (a JSON array), the first the default unless cloudflare.defaultZone says', () => {
    const env = { ...base, TUNNELPLANE_CLOUDFLARE_ZONES: '[{"name":"a.com"},{"name":"b.org"}]' };
    expect(configuredZones(loadConfig({ env }).cloudflare).defaultZone).toBe('a.com');
    const c = loadConfig({ env: { ...env, TUNNELPLANE_CLOUDFLARE_DEFAULT_ZONE: 'b.org' } });
    expect(configuredZones(c.cloudflare).defaultZone).toBe('b.org');
  });

  it('names the key of a zone listed twice, a bad name, and a default that is not a zone', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig({ env: { ...base, ...env } });
        return [];
      } catch (err) {
        return (err as ConfigError).problems;
      }
    };
    expect(problems({ TUNNELPLANE_CLOUDFLARE_ZONES: 'a.com,a.com' })).toEqual([
      'cloudflare.zones.1.name: a.com is listed twice',
    ]);
    expect(problems({ TUNNELPLANE_CLOUDFLARE_ZONES: 'not_a_zone' })[0]).toMatch(
      /^cloudflare\.zones\.0\.name: must be a zone apex name/,
    );
    expect(
      problems({ TUNNELPLANE_CLOUDFLARE_ZONES: 'a.com', TUNNELPLANE_CLOUDFLARE_DEFAULT_ZONE: 'b.org' }),
    ).toEqual(['cloudflare.defaultZone: b.org is not one of the configured zones (a.com)']);
    expect(
      problems({
        TUNNELPLANE_CLOUDFLARE_ZONE: 'a.com',
        TUNNELPLANE_CLOUDFLARE_ZONE_ID: 'a'.repeat(32),
        TUNNELPLANE_CLOUDFLARE_ZONES: `a.com=${'b'.repeat(32)}`,
      }),
    ).toEqual([
      `cloudflare.zones.0.id: a.com is cloudflare.zoneName with id ${'a'.repeat(32)}, not ${'b'.repeat(32)}`,
    ]);
  });
});
