/**
 * No deadlocks on PostgreSQL: three replicas on one database, the API writing routes and
 * tunnels as fast as it can while the reconciler records successes and (through injected
 * Cloudflare faults) failures of the same tunnels. PostgreSQL counts every deadlock it breaks
 * (`pg_stat_database.deadlocks`): the count must not move, and no request may fail with 500.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startCloudflareEmulator,
  type StartedCloudflareEmulator,
} from '../src/emulators/cloudflare/index.js';
import { startStack, eventually, type Stack } from './support/stack.js';
import { createScratchDatabase, type ScratchDatabase } from './support/scratch-database.js';

const pgUrl = process.env.TUNNELPLANE_TEST_POSTGRES_E2E_URL;
if (process.env.CI && !pgUrl) {
  it('runs the lock-order test on PostgreSQL in CI', () =>
    expect.fail('TUNNELPLANE_TEST_POSTGRES_E2E_URL is not set: .ci/run must create the e2e database'));
}

let cf: StartedCloudflareEmulator;
let db: ScratchDatabase;
const replicas: Stack[] = [];

const deadlocks = async () =>
  Number(
    (
      await db.query<{ n: string }>(
        'select deadlocks as n from pg_stat_database where datname = current_database()',
      )
    )[0]!.n,
  );

describe.skipIf(!pgUrl)('lock order on PostgreSQL', () => {
  beforeAll(async () => {
    cf = await startCloudflareEmulator({ port: 0, zoneName: 'example.com', retryAfterSeconds: 1 });
    db = await createScratchDatabase(pgUrl!, 'tp_locks');
    for (let i = 0; i < 3; i++)
      replicas.push(await startStack({ cf, instance: null, database: db.url, configMode: 'remote' }));
  }, 60_000);
  afterAll(async () => {
    for (const r of replicas) await r.stop();
    await cf?.close();
    await db?.drop();
  });

  it('API writes and reconciler outcomes on the same tunnels never deadlock', async () => {
    // Failures make the reconciler record errors on routes the API is writing at the same moment.
    cf.control.addFault({
      method: 'POST',
      path: '/zones/*/dns_records/batch',
      probability: 0.3,
      seed: 7,
      action: { type: 'error', status: 500 },
    });
    cf.control.addFault({
      method: 'PUT',
      path: '/accounts/*/cfd_tunnel/*/configurations',
      probability: 0.3,
      seed: 8,
      action: { type: 'error', status: 500 },
    });
    const before = await deadlocks();
    const users = ['user1', 'user2'];
    const tunnels = new Map<string, string[]>();
    for (const u of users) {
      const names: string[] = [];
      for (let i = 0; i < 4; i++)
        names.push((await replicas[i % replicas.length]!.as(u).post('/api/v1/tunnels?wait=0', {})).body.name);
      tunnels.set(u, names);
    }
    const statuses: number[] = [];
    const until = Date.now() + 8000;
    const worker = async (w: number) => {
      const u = users[w % users.length]!;
      const mine = tunnels.get(u)!;
      for (let n = 0; Date.now() < until; n++) {
        const api = replicas[(w + n) % replicas.length]!.as(u);
        const t = mine[(w + n) % mine.length]!;
        const created = await api.post(`/api/v1/tunnels/${t}/routes?wait=0`, {
          service: `http://10.9.${w}.${n % 250}:80`,
        });
        statuses.push(created.status);
        if (created.status === 202 && n % 2 === 0)
          statuses.push((await api.del(`/api/v1/tunnels/${t}/routes/${created.body.name}?wait=0`)).status);
        // Now and then a whole tunnel goes (its routes with it) and a new one takes its place.
        if (n % 7 === 6) {
          statuses.push((await api.del(`/api/v1/tunnels/${t}?wait=0`)).status);
          const fresh = await api.post('/api/v1/tunnels?wait=0', {});
          statuses.push(fresh.status);
          if (fresh.status === 202 || fresh.status === 201) mine[mine.indexOf(t)] = fresh.body.name;
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
    cf.control.clearFaults();
    // Every tunnel, then deleted, converges: nothing was left half-written by a broken transaction.
    for (const [u, names] of tunnels)
      for (const t of names)
        statuses.push((await replicas[0]!.as(u).del(`/api/v1/tunnels/${t}?wait=0`)).status);
    await eventually(
      async () => (await replicas[0]!.as('admin').get('/api/v1/tunnels')).body.items.length === 0,
      40_000,
      200,
    );

    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    expect(statuses.filter((s) => s === 202).length).toBeGreaterThan(50);
    // The statistics collector publishes a backend's counts shortly after its transactions end.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await deadlocks()).toBe(before);
  }, 120_000);
});
