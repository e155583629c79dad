/** `tunnelplane doctor`'s Cloudflare checks with several zones (issue 16): each zone and its plan, in process. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/index.js';
import {
  startCloudflareEmulator,
  type StartedCloudflareEmulator,
} from '../src/emulators/cloudflare/index.js';
import { checkCloudflare } from '../src/main/doctor-checks.js';

let cf: StartedCloudflareEmulator;
let second: { id: string };
beforeAll(async () => {
  cf = await startCloudflareEmulator({ port: 0, zoneName: 'example.com' });
  second = cf.control.addZone('second.org', 'pro');
});
afterAll(() => cf?.close());

const config = (token: string, zones = 'second.org') =>
  loadConfig({
    env: {
      TUNNELPLANE_CLOUDFLARE_API_TOKEN: token,
      TUNNELPLANE_CLOUDFLARE_BASE_URL: cf.url,
      TUNNELPLANE_CLOUDFLARE_ZONE: 'example.com',
      TUNNELPLANE_CLOUDFLARE_ZONES: zones,
      TUNNELPLANE_CLOUDFLARE_TIMEOUT_MS: '3000',
    },
  });

describe('doctor with several zones', () => {
  it('reports each zone (the default marked) and its plan', async () => {
    const checks = await checkCloudflare(config(cf.token));
    const of = (name: string) => checks.filter((c) => c.check === name).map((c) => [c.status, c.message]);
    expect(of('Cloudflare zone')).toEqual([
      ['ok', `example.com (zone ${cf.zoneId}, account ${cf.accountId}, the default)`],
      ['ok', `second.org (zone ${second.id}, account ${cf.accountId})`],
    ]);
    expect(of('Cloudflare plan')).toEqual([
      [
        'ok',
        'example.com: Free Website: up to 200 operations per DNS batch; cloudflare.dnsBatchLimit is 200',
      ],
      [
        'ok',
        'second.org: Pro Website: up to 3500 operations per DNS batch; cloudflare.dnsBatchLimit is 200 (it may be raised to 3500)',
      ],
    ]);
    expect(checks.filter((c) => c.status !== 'ok')).toEqual([]);
  });

  it("names the zone a token's resources leave out, by its key", async () => {
    const token = cf.control.addToken({ zoneIds: [cf.zoneId] });
    const checks = await checkCloudflare(config(token));
    expect(checks.find((c) => c.check === 'Cloudflare zone')).toMatchObject({
      status: 'fail',
      key: 'cloudflare.zones.0.name',
      message: 'Cloudflare has no zone named second.org visible to this token',
    });
  });
});
