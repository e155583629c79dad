/**
 * The database may go away and come back (PostgreSQL restarting: every connection ended with
 * 57P01, new ones refused): replicas stay up, `/readyz` and requests that need the database
 * answer 503 meanwhile (never 500), and work resumes by itself. A server started before its
 * database waits for it. Three replicas started at once on an empty database all come up.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startCloudflareEmulator,
  type StartedCloudflareEmulator,
} from '../src/emulators/cloudflare/index.js';
import { startStack, eventually, type Stack } from './support/stack.js';
import { createScratchDatabase, type ScratchDatabase } from './support/scratch-database.js';
import { cfView } from './support/cloudflare-view.js';

const pgUrl = process.env.TUNNELPLANE_TEST_POSTGRES_E2E_URL;
if (process.env.CI && !pgUrl) {
  it('runs the database outage tests on PostgreSQL in CI', () =>
    expect.fail('TUNNELPLANE_TEST_POSTGRES_E2E_URL is not set: .ci/run must create the e2e database'));
}

let cf: StartedCloudflareEmulator;
beforeAll(async () => {
  cf = await startCloudflareEmulator({ port: 0, zoneName: 'example.com', retryAfterSeconds: 1 });
});
afterAll(async () => cf?.close());

const readyz = async (s: Stack) => (await fetch(`${s.url}/readyz`)).status;

describe.skipIf(!pgUrl)('PostgreSQL going away', () => {
  let db: ScratchDatabase;
  const replicas: Stack[] = [];
  afterAll(async () => {
    for (const r of replicas) await r.stop();
    await db?.comeBack().catch(() => undefined);
    await db?.drop();
  });

  it('under load, two replicas stay up, answer 503 while it is away, and resume by themselves', async () => {
    db = await createScratchDatabase(pgUrl!, 'tp_outage');
    for (let i = 0; i < 2; i++)
      replicas.push(await startStack({ cf, instance: null, database: db.url, configMode: 'remote' }));
    const [a, b] = replicas as [Stack, Stack];
    const t = (await a.as('user1').post('/api/v1/tunnels?wait=10', {})).body.name;
    // Load while it goes away: routes posted on both replicas.
    let loading = true;
    const statuses: number[] = [];
    const load = (async () => {
      for (let i = 0; loading; i++) {
        const res = await (i % 2 ? a : b)
          .as('user1')
          .post(`/api/v1/tunnels/${t}/routes?wait=0`, { service: `http://10.3.0.${i % 250}:80` })
          .catch(() => null);
        if (res) statuses.push(res.status);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await eventually(() => statuses.filter((s) => s === 202).length >= 3);
    await db.goAway();
    await eventually(async () => (await readyz(a)) === 503 && (await readyz(b)) === 503, 15_000, 100);
    const during = await a.as('user1').get(`/api/v1/tunnels/${t}`);
    expect(during.status).toBe(503);
    expect(during.body.error.code).toBe('database.unavailable');
    expect(during.headers.get('retry-after')).toBeTruthy();
    await new Promise((r) => setTimeout(r, 1000));
    await db.comeBack();
    await eventually(async () => (await readyz(a)) === 200 && (await readyz(b)) === 200, 20_000, 100);
    loading = false;
    await load;
    // Nothing answered 500; the routes posted before, during (refused) and after all converge.
    expect(statuses.filter((s) => s >= 500 && s !== 503)).toEqual([]);
    const after = await b
      .as('user1')
      .post(`/api/v1/tunnels/${t}/routes?wait=20`, { service: 'http://10.3.1.1:80' });
    expect(after.status).toBe(201);
    await eventually(
      async () => {
        const tunnel = (await a.as('user1').get(`/api/v1/tunnels/${t}`)).body;
        return tunnel.phase === 'ready' && tunnel.routes.every((r: any) => r.phase === 'ready');
      },
      30_000,
      200,
    );
    const tunnel = (await a.as('user1').get(`/api/v1/tunnels/${t}`)).body;
    expect(
      cfView(cf)
        .records.map((r) => r.name)
        .sort(),
    ).toEqual(tunnel.routes.map((r: any) => r.hostname).sort());
    expect((await a.as('user1').del(`/api/v1/tunnels/${t}?wait=20`)).status).toBe(204);
  }, 120_000);

  it('a server started before its database waits for it', async () => {
    const late = await createScratchDatabase(pgUrl!, 'tp_late');
    try {
      await late.goAway();
      let up: Stack | null = null;
      const starting = startStack({
        cf,
        instance: null,
        database: late.url,
        config: { 'database.startupWaitSeconds': 60 },
      }).then((s) => (up = s));
      await new Promise((r) => setTimeout(r, 2000));
      expect(up).toBeNull();
      await late.comeBack();
      const stack = await starting;
      try {
        expect(await readyz(stack)).toBe(200);
        expect((await stack.as('user1').post('/api/v1/tunnels?wait=10', {})).status).toBe(201);
      } finally {
        await stack.stop();
      }
    } finally {
      await late.drop();
    }
  }, 90_000);

  it('three replicas started at once on an empty database all serve', async () => {
    const empty = await createScratchDatabase(pgUrl!, 'tp_empty');
    const dir = mkdtempSync(join(tmpdir(), 'tp-three-'));
    writeFileSync(
      join(dir, 'users.json'),
      JSON.stringify({ alice: 'alice-password', bob: { password: 'bob-password', role: 'admin' } }),
    );
    const three: Stack[] = [];
    try {
      three.push(
        ...(await Promise.all(
          [0, 1, 2].map(() =>
            startStack({
              cf,
              instance: null,
              database: empty.url,
              config: { 'users.file': join(dir, 'users.json') },
            }),
          ),
        )),
      );
      const ids = new Set(three.map((s) => s.runtime.installationId));
      expect(ids.size).toBe(1);
      for (const s of three) {
        expect(await readyz(s)).toBe(200);
        expect((await s.as('alice', 'alice-password').get('/api/v1/me')).status).toBe(200);
      }
      expect(
        (await empty.query<{ n: string }>('select count(*) as n from users where name = $1', ['alice']))[0]!
          .n,
      ).toBe('1');
    } finally {
      for (const s of three) await s.stop();
      await empty.drop();
    }
  }, 90_000);
});
