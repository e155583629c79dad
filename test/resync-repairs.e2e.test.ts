/**
 * A resync's repairs are never half-made: what it learns (a record, an Access application or a
 * tunnel gone by hand) is written together with the tunnel's new generation, so a resync cut
 * short after learning it (the database gone, a crash) still leaves the pass to put it back;
 * and `tunnelplane gc` without --confirm only reads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startCloudflareEmulator,
  type StartedCloudflareEmulator,
} from '../src/emulators/cloudflare/index.js';
import { startStack, type Stack } from './support/stack.js';
import { cfView } from './support/cloudflare-view.js';
import { cfHand } from './support/cloudflare-hand.js';

let cf: StartedCloudflareEmulator;
let stack: Stack;
beforeAll(async () => {
  cf = await startCloudflareEmulator({ port: 0, zoneName: 'example.com', retryAfterSeconds: 1 });
  stack = await startStack({ cf });
});
afterAll(async () => {
  await stack?.stop();
  await cf?.close();
});

const appFor = (hostname: string) => cfView(cf).accessApps.find((a) => a.domain === hostname);
const recordFor = (hostname: string) => cfView(cf).records.find((x) => x.name === hostname);

async function protectedRoute() {
  const u = stack.as('user1');
  const t = (await u.post('/api/v1/tunnels?wait=10', {})).body.name as string;
  const r = (
    await u.post(`/api/v1/tunnels/${t}/routes?wait=10`, {
      service: 'http://localhost:1',
      allowIps: ['203.0.113.0/24'],
    })
  ).body as { hostname: string; name: string };
  expect(appFor(r.hostname)).toBeDefined();
  return { t, r };
}

/** Runs one resync whose last database write fails, as if the database went away at that moment. */
async function resyncCutShort() {
  const repo = stack.runtime.store.resync as { pruneTombstones: (before: string) => Promise<number> };
  const original = repo.pruneTombstones;
  repo.pruneTombstones = async () => {
    throw Object.assign(new Error('Connection terminated unexpectedly'), { code: '57P01' });
  };
  try {
    await expect(stack.runtime.reconciler!.resync()).rejects.toThrow(/Connection terminated/);
  } finally {
    repo.pruneTombstones = original;
  }
}

describe('a resync cut short after it found drift', () => {
  it('an Access application deleted by hand still comes back', async () => {
    const { r } = await protectedRoute();
    await cfHand(cf).call('DELETE', `/accounts/${cf.accountId}/access/apps/${appFor(r.hostname)!.id}`);
    await resyncCutShort();
    // No further resync: the pass alone must finish the repair.
    await stack.runtime.reconciler!.drain();
    expect(appFor(r.hostname)).toBeDefined();
    expect(recordFor(r.hostname)).toBeDefined();
  });

  it('a DNS record deleted by hand still comes back', async () => {
    const { r } = await protectedRoute();
    await cfHand(cf).deleteRecord(recordFor(r.hostname)!.id);
    await resyncCutShort();
    await stack.runtime.reconciler!.drain();
    expect(recordFor(r.hostname)).toBeDefined();
  });

  it('a tunnel deleted by hand is made again', async () => {
    const u = stack.as('user1');
    const t = (await u.post('/api/v1/tunnels?wait=10', {})).body.name as string;
    const gone = cfView(cf).tunnels.find((x) => x.name.endsWith(`-${t}`))!;
    await cfHand(cf).deleteTunnel(gone.id);
    await resyncCutShort();
    await stack.runtime.reconciler!.drain();
    const now = cfView(cf).tunnels.find((x) => x.name.endsWith(`-${t}`));
    expect(now).toBeDefined();
    expect(now!.id).not.toBe(gone.id);
    expect((await u.get(`/api/v1/tunnels/${t}`)).body.phase).toBe('ready');
  });
});

describe('`tunnelplane gc` without --confirm', () => {
  it('only reads: the drift it sees is left for the resync, which repairs it', async () => {
    const { t, r } = await protectedRoute();
    await cfHand(cf).call('DELETE', `/accounts/${cf.accountId}/access/apps/${appFor(r.hostname)!.id}`);
    const before = JSON.stringify((await stack.as('user1').get(`/api/v1/tunnels/${t}`)).body);
    await stack.runtime.reconciler!.planOrphans();
    await stack.runtime.reconciler!.drain();
    // The plan changed nothing the API shows, and made no pass notice anything.
    expect(JSON.stringify((await stack.as('user1').get(`/api/v1/tunnels/${t}`)).body)).toBe(before);
    expect(appFor(r.hostname)).toBeUndefined();
    // The next resync sees the drift (the plan did not hide it) and the pass repairs it.
    await stack.runtime.reconciler!.resync();
    await stack.runtime.reconciler!.drain();
    expect(appFor(r.hostname)).toBeDefined();
  });
});
