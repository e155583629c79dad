/**
 * Several replicas on one database: work is claimed with leases, so two servers reconciling the
 * same desired state, with faults on Cloudflare, converge to exactly one of everything. Runs on
 * PostgreSQL (FOR UPDATE SKIP LOCKED) when TUNNELPLANE_TEST_POSTGRES_E2E_URL is set, as in CI,
 * and on a shared SQLite file otherwise.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  startCloudflareEmulator,
  type StartedCloudflareEmulator,
} from '../src/emulators/cloudflare/index.js';
import { connectStore } from '../src/store/index.js';
import { startStack, eventually, type Stack } from './support/stack.js';
import { cfView } from './support/cloudflare-view.js';

const pg = process.env.TUNNELPLANE_TEST_POSTGRES_E2E_URL;
if (process.env.CI && !pg) {
  it('runs the replica test on PostgreSQL in CI', () =>
    expect.fail('TUNNELPLANE_TEST_POSTGRES_E2E_URL is not set: .ci/run must create the e2e database'));
}

let cf: StartedCloudflareEmulator;
let a: Stack;
let b: Stack;

let database: string;

beforeAll(async () => {
  cf = await startCloudflareEmulator({ port: 0, zoneName: 'example.com' });
  database = pg ?? `sqlite:${join(mkdtempSync(join(tmpdir(), 'tp-replicas-')), 'shared.sqlite')}`;
  if (pg) {
    // A previous run's rows, and its key check (sealed with that run's key), must not count.
    const { store, close } = await connectStore(pg);
    try {
      await sql`truncate events, routes, tunnels, api_tokens, leases, settings restart identity cascade`.execute(
        store.db,
      );
    } finally {
      await close();
    }
  }
  a = await startStack({ cf, database, configMode: 'remote' });
  b = await startStack({ cf, database, configMode: 'remote' });
});
afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await cf?.close();
});

describe(`two replicas on one ${pg ? 'PostgreSQL' : 'SQLite'} database`, () => {
  it('share the work and converge to exactly the desired state', async () => {
    cf.control.addFault({
      method: 'POST',
      path: '/zones/*/dns_records/batch',
      times: 2,
      action: { type: 'drop-after-write' },
    });
    cf.control.addFault({
      method: 'PUT',
      path: '/accounts/*/cfd_tunnel/*/configurations',
      times: 2,
      action: { type: 'drop-after-write' },
    });
    const names: string[] = [];
    for (let i = 0; i < 4; i++)
      names.push((await (i % 2 ? a : b).as('user1').post('/api/v1/tunnels?wait=0', {})).body.name);
    const hosts: string[] = [];
    await Promise.all(
      names.map(async (t, i) => {
        for (let j = 0; j < 5; j++) {
          const r = await (j % 2 ? a : b)
            .as('user1')
            .post(`/api/v1/tunnels/${t}/routes?wait=0`, { service: `http://10.2.${i}.${j}:80` });
          expect(r.status).toBe(202);
          hosts.push(r.body.hostname);
        }
      }),
    );
    await eventually(
      async () => {
        const items = (await a.as('user1').get('/api/v1/tunnels')).body.items;
        return (
          items.length === 4 &&
          items.every((t: any) => t.phase === 'ready' && t.routes.every((r: any) => r.phase === 'ready'))
        );
      },
      40_000,
      200,
    );
    const view = cfView(cf);
    expect(view.tunnels.map((t) => t.name).sort()).toEqual(names.map((n) => `tunnelplane-test-${n}`).sort());
    expect(view.records.map((r) => r.name).sort()).toEqual(hosts.sort());
    for (const t of view.tunnels) expect(t.ingress).toHaveLength(6);

    for (const t of names) await (t.length % 2 ? a : b).as('user1').del(`/api/v1/tunnels/${t}?wait=30`);
    await eventually(() => cfView(cf).tunnels.length === 0 && cfView(cf).records.length === 0, 30_000, 200);
  }, 90_000);

  it('refuse a replica with another secret key: it could not open the tunnel secrets the others sealed', async () => {
    // Before this was refused, such a replica claimed the others' new tunnels and failed each
    // (the secret does not open), pushing its backoff out, so the replica that could create it
    // waited up to minutes (bench/replicas.ts: the 100th tunnel ready after ~150 s).
    const made = await a.as('user1').post('/api/v1/tunnels?wait=10', {});
    expect([made.status, made.body.phase]).toEqual([201, 'ready']);
    const other = randomBytes(32).toString('base64');
    await expect(startStack({ cf, database, configMode: 'remote', secretKey: other })).rejects.toThrow(
      /^secretKey: this key cannot open the secrets the database holds/,
    );
    await a.as('user1').del(`/api/v1/tunnels/${made.body.name}?wait=30`);
  }, 60_000);
});
