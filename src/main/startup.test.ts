/** Start-up's check of every configured zone (issue 16): visible, its id as given, one account, its plan's batch limit. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/index.js';
import type { ZoneInfo } from '../providers/cloudflare/index.js';
import { resolveCloudflareZones, StartupError, type Attempt } from './startup.js';

const ACCOUNT = 'a'.repeat(32);
const visible: Record<string, ZoneInfo> = {
  'example.com': {
    id: '1'.repeat(32),
    name: 'example.com',
    accountId: ACCOUNT,
    plan: { name: 'Free Website', legacyId: 'free' },
  },
  'b.org': {
    id: '2'.repeat(32),
    name: 'b.org',
    accountId: ACCOUNT,
    plan: { name: 'Pro Website', legacyId: 'pro' },
  },
  'elsewhere.net': { id: '3'.repeat(32), name: 'elsewhere.net', accountId: 'f'.repeat(32), plan: null },
};
const probe = { findZone: async (name: string) => visible[name] ?? null };
const once: Attempt = (_what, fn) => fn();
const cf = (env: Record<string, string>) =>
  loadConfig({ env: { TUNNELPLANE_CLOUDFLARE_API_TOKEN: 't', ...env } }).cloudflare;
const problem = async (env: Record<string, string>) => {
  try {
    await resolveCloudflareZones(probe, cf(env), once);
    return null;
  } catch (err) {
    return err instanceof StartupError ? err.problem : String(err);
  }
};

describe('resolveCloudflareZones', () => {
  it('checks each zone and gives each the DNS batch limit its plan allows', async () => {
    const r = await resolveCloudflareZones(
      probe,
      cf({
        TUNNELPLANE_CLOUDFLARE_ZONE: 'example.com',
        TUNNELPLANE_CLOUDFLARE_ZONES: 'b.org',
        TUNNELPLANE_CLOUDFLARE_DNS_BATCH_LIMIT: '1000',
      }),
      once,
    );
    expect(r.accountId).toBe(ACCOUNT);
    expect(r.defaultZone).toBe('example.com');
    expect(r.zones).toEqual([
      { name: 'example.com', id: '1'.repeat(32), plan: 'Free Website', dnsBatchLimit: 200 },
      { name: 'b.org', id: '2'.repeat(32), plan: 'Pro Website', dnsBatchLimit: 1000 },
    ]);
  });

  it('names the key of a zone the token cannot see, a wrong id, and a zone of another account', async () => {
    expect(
      await problem({
        TUNNELPLANE_CLOUDFLARE_ZONE: 'example.com',
        TUNNELPLANE_CLOUDFLARE_ZONES: 'b.org,missing.io',
      }),
    ).toMatchObject({
      key: 'cloudflare.zones.1.name',
      message: 'Cloudflare has no zone named missing.io visible to this token',
    });
    expect(await problem({ TUNNELPLANE_CLOUDFLARE_ZONES: `b.org=${'9'.repeat(32)}` })).toMatchObject({
      key: 'cloudflare.zones.0.id',
    });
    expect(await problem({ TUNNELPLANE_CLOUDFLARE_ZONES: 'example.com,elsewhere.net' })).toMatchObject({
      key: 'cloudflare.zones.1',
      message: expect.stringMatching(/belongs to account f+, not a+/),
    });
    expect(await problem({ TUNNELPLANE_CLOUDFLARE_ZONE: 'missing.io' })).toMatchObject({
      key: 'cloudflare.zoneName',
    });
  });
});
