/**
 * `tunnelplane serve` returns the heap memory a load left unused once it has gone idle
 * (`memory.idleReleaseSeconds`): the young generation, grown under the load, shrinks back, and
 * `/metrics` counts the release; never while requests come. Measured through the process's own gauges (prom-client's heap
 * spaces), not timed: what is asserted is what the server decided.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startCloudflareEmulator,
  type StartedCloudflareEmulator,
} from '../src/emulators/cloudflare/index.js';
import { serverCluster, sleep, type ServerCluster } from './support/processes.js';

let cf: StartedCloudflareEmulator;
let dir: string;

beforeAll(async () => {
  cf = await startCloudflareEmulator({ port: 0, zoneName: 'example.com' });
  dir = mkdtempSync(join(tmpdir(), 'tunnelplane-idle-memory-'));
  writeFileSync(join(dir, 'users.json'), JSON.stringify({ user1: 'user1password' }));
});
afterAll(async () => {
  await cf.close();
  rmSync(dir, { recursive: true, force: true });
});

function serve(idleReleaseSeconds: number): ServerCluster {
  return serverCluster({
    size: 1,
    dir,
    env: () => ({
      TUNNELPLANE_PORT: '0',
      TUNNELPLANE_DATABASE_URL: `sqlite:${join(dir, `db-${idleReleaseSeconds}.sqlite`)}`,
      TUNNELPLANE_SECRET_KEY: randomBytes(32).toString('base64'),
      TUNNELPLANE_USERS_FILE: join(dir, 'users.json'),
      TUNNELPLANE_CLOUDFLARE_API_TOKEN: cf.token,
      TUNNELPLANE_CLOUDFLARE_ACCOUNT_ID: cf.accountId,
      TUNNELPLANE_CLOUDFLARE_ZONE: cf.zoneName,
      TUNNELPLANE_CLOUDFLARE_BASE_URL: cf.url,
      TUNNELPLANE_RESYNC_SECONDS: '0',
      TUNNELPLANE_INSTANCE: `idle${idleReleaseSeconds}`,
      TUNNELPLANE_MEMORY_IDLE_RELEASE_SECONDS: String(idleReleaseSeconds),
    }),
  });
}

/** A gauge or counter of the server's /metrics (null when the server does not export it). */
async function metric(url: string, series: string): Promise<number | null> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : null;
}

const NEW_SPACE = 'tunnelplane_nodejs_heap_space_size_total_bytes{space="new"}';
const RELEASES = 'tunnelplane_memory_idle_releases_total{result="released"}';

/** Ten connections reading the server's metrics and tunnel list for `ms`: allocation, with objects alive across collections. */
async function load(url: string, ms: number) {
  const auth = `Basic ${Buffer.from('user1:user1password').toString('base64')}`;
  const until = Date.now() + ms;
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      while (Date.now() < until) {
        await (await fetch(`${url}/metrics`)).text();
        await (await fetch(`${url}/api/v1/tunnels`, { headers: { authorization: auth } })).text();
      }
    }),
  );
}

describe('idle memory release', () => {
  it('shrinks the heap a load grew once the server is idle, and counts it', async () => {
    const cluster = serve(1);
    try {
      await cluster.start(0);
      const url = await cluster.pick();
      let grown = 0;
      let duringLoad = 0;
      for (let i = 0; i < 10 && grown < 16 * 1024 * 1024; i++) {
        const before = (await metric(url, RELEASES)) ?? 0;
        await load(url, 2500);
        // Never while requests keep coming, however much the heap holds unused.
        duringLoad += ((await metric(url, RELEASES)) ?? 0) - before;
        grown = (await metric(url, NEW_SPACE))!;
      }
      expect(duringLoad).toBe(0);
      // The load grew the young generation past what the release waits for.
      expect(grown).toBeGreaterThanOrEqual(16 * 1024 * 1024);
      const releasedBefore = (await metric(url, RELEASES)) ?? 0;
      let released = releasedBefore;
      let newSpace = grown;
      for (let i = 0; i < 40 && released === releasedBefore; i++) {
        await sleep(1000);
        released = (await metric(url, RELEASES)) ?? 0;
        newSpace = (await metric(url, NEW_SPACE))!;
      }
      expect(released).toBeGreaterThan(releasedBefore);
      expect(newSpace).toBeLessThanOrEqual(grown / 4);
    } finally {
      await cluster.stop();
    }
  }, 120_000);

  it('is off with memory.idleReleaseSeconds 0', async () => {
    const cluster = serve(0);
    try {
      await cluster.start(0);
      const url = await cluster.pick();
      await load(url, 500);
      await sleep(2500);
      expect(await metric(url, RELEASES)).toBeNull();
    } finally {
      await cluster.stop();
    }
  }, 60_000);
});
