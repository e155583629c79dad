/**
 * Tenants never weaken, block or slow each other. One user fills every shared limit the API lets
 * him near (allow-lists, Access for people, TCP routes; the account's applications and tokens):
 * at every step every other user's protection is intact in the emulator, their tunnels stay
 * ready and still take changes, each refused route is a clear 4xx before anything is written,
 * and no hostname is ever public without its protection. A noisy user churning tunnels while a
 * quiet user adds one route: the quiet route is live within a bound stated in Cloudflare calls;
 * and two replicas on one token stay within its budget. Each user's changes are paced, and a
 * user's refused requests leave a bounded trail.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startCloudflareEmulator,
  type StartedCloudflareEmulator,
} from '../src/emulators/cloudflare/index.js';
import { startStack, eventually, type Stack } from './support/stack.js';
import { createScratchDatabase, type ScratchDatabase } from './support/scratch-database.js';
import { cfView } from './support/cloudflare-view.js';

const pgUrl = process.env.TUNNELPLANE_TEST_POSTGRES_E2E_URL;
const v6List = (seed: number) =>
  Array.from({ length: 50 }, (_, i) => `2001:db8:${seed.toString(16)}:${i.toString(16)}::/64`);

describe('one user against every shared limit', () => {
  let cf: StartedCloudflareEmulator;
  let stack: Stack;
  beforeAll(async () => {
    cf = await startCloudflareEmulator({
      port: 0,
      zoneName: 'example.com',
      retryAfterSeconds: 1,
      accessLimits: { applications: 9, serviceTokens: 3 },
    });
    stack = await startStack({
      cf,
      config: {
        'quotas.protectedRoutes': 4,
        'quotas.tcpRoutes': 2,
        'cloudflare.limits.accessApplications': 9,
        'cloudflare.limits.serviceTokens': 3,
      },
    });
  });
  afterAll(async () => {
    await stack?.stop();
    await cf?.close();
  });

  const state = () => cf.control.state() as any;
  const appOf = (host: string) => state().accessApps.find((a: any) => a.fields.domain === host);
  const everyRoute = async () =>
    ((await stack.as('admin').get('/api/v1/admin/tunnels?limit=500')).body.items as any[]).flatMap((t) =>
      t.routes.map((r: any) => ({ ...r, tunnel: t.name })),
    );

  /** No hostname is public without the protection its route asks for. */
  async function noneUnprotected() {
    const published = new Set(cfView(cf).records.map((r) => r.name));
    const out: string[] = [];
    for (const r of await everyRoute()) {
      if (!r.protectedBy || !published.has(r.hostname)) continue;
      const app = appOf(r.hostname);
      if (!app) {
        out.push(`${r.hostname}: public, no Access application`);
        continue;
      }
      // A stranger gets in nowhere: not an allow-listed source, no token, no sign-in.
      if (cf.control.evaluateAccess(app.id, { ip: '198.18.0.1' }).admitted)
        out.push(`${r.hostname}: admits anyone`);
    }
    return out;
  }

  it('keeps every other user whole, refuses what does not fit with a clear 4xx, and never publishes an unprotected name', async () => {
    const victim = stack.as('user2');
    const attacker = stack.as('user1');
    const vt = (await victim.post('/api/v1/tunnels?wait=10', {})).body.name;
    const guarded = (
      await victim.post(`/api/v1/tunnels/${vt}/routes?wait=10`, {
        service: 'http://localhost:8000',
        allowIps: ['203.0.113.0/24'],
      })
    ).body;
    const db = (await victim.post(`/api/v1/tunnels/${vt}/routes?wait=10`, { service: 'tcp://10.0.0.5:5432' }))
      .body;
    expect([guarded.phase, db.phase]).toEqual(['ready', 'ready']);

    /** The victim's protection is exactly as asked, its tunnel ready, and it still takes changes. */
    const victimWhole = async (step: string) => {
      expect(
        cf.control.evaluateAccess(appOf(guarded.hostname).id, { ip: '203.0.113.7' }).admitted,
        step,
      ).toBe(true);
      expect(
        cf.control.evaluateAccess(appOf(guarded.hostname).id, { ip: '198.51.100.7' }).admitted,
        step,
      ).toBe(false);
      expect(cf.control.evaluateAccess(appOf(db.hostname).id, { ip: '10.0.0.1' }).admitted, step).toBe(false);
      const t = (await victim.get(`/api/v1/tunnels/${vt}`)).body;
      expect(t.phase, step).toBe('ready');
      const open = await victim.post(`/api/v1/tunnels/${vt}/routes?wait=10`, {
        service: 'http://localhost:9999',
      });
      expect(open.status, step).toBe(201);
      expect((await victim.del(`/api/v1/tunnels/${vt}/routes/${open.body.name}?wait=10`)).status, step).toBe(
        204,
      );
      expect(await noneUnprotected(), step).toEqual([]);
    };
    await victimWhole('before');

    /** A refusal: a stable code, and nothing written for it (no row, no Cloudflare create). */
    const refused = async (res: { status: number; body: any }, status: number, code: string) => {
      expect(res.status).toBe(status);
      expect(res.body.error.code).toBe(code);
      expect(res.body.error.message.length).toBeGreaterThan(20);
    };
    const creates = () =>
      stack.cf.control
        .requests()
        .filter((r: any) => r.method === 'POST' && /access\/(apps|service_tokens)$/.test(r.path)).length;

    const at = (await attacker.post('/api/v1/tunnels?wait=10', {})).body.name;
    // Allow-lists as long as allowed, in every family; Access for people; TCP routes.
    const made = [];
    made.push(
      await attacker.post(`/api/v1/tunnels/${at}/routes?wait=10`, {
        service: 'http://localhost:1',
        allowIps: v6List(1),
      }),
    );
    await victimWhole('after a 50-entry IPv6 allow-list');
    made.push(
      await attacker.post(`/api/v1/tunnels/${at}/routes?wait=10`, {
        service: 'http://localhost:2',
        allowIps: ['0.0.0.0/0'],
        access: { emails: Array.from({ length: 10 }, (_, i) => `p${i}@example.org`) },
      }),
    );
    await victimWhole('after people from everywhere');
    made.push(
      await attacker.post(`/api/v1/tunnels/${at}/routes?wait=10`, {
        service: 'tcp://10.9.0.1:22',
        allowIps: v6List(2).slice(0, 20),
      }),
    );
    made.push(await attacker.post(`/api/v1/tunnels/${at}/routes?wait=10`, { service: 'ssh://10.9.0.2:22' }));
    expect(made.map((r) => [r.status, r.body.phase])).toEqual(Array(4).fill([201, 'ready']));
    await victimWhole('after two TCP routes');

    const before = creates();
    await refused(
      await attacker.post(`/api/v1/tunnels/${at}/routes`, {
        service: 'http://localhost:3',
        allowIps: v6List(3),
      }),
      403,
      'quota.exceeded',
    );
    await refused(
      await attacker.post(`/api/v1/tunnels/${at}/routes`, { service: 'tcp://10.9.0.3:22' }),
      403,
      'quota.exceeded',
    );
    await refused(
      await attacker.post(`/api/v1/tunnels/${at}/routes`, {
        service: 'http://localhost:4',
        access: { emails: Array.from({ length: 50 }, (_, i) => `q${i}@example.org`) },
        allowIps: v6List(4).slice(0, 30),
      }),
      400,
      'route.protection_too_large',
    );
    for (const bad of ['fe80::1%eth0', '10.0.0.0/024', '10.0.0.1/24']) {
      await refused(
        await attacker.post(`/api/v1/tunnels/${at}/routes`, {
          service: 'http://localhost:5',
          allowIps: [bad],
        }),
        400,
        'route.invalid_allow_list',
      );
    }
    expect(creates()).toBe(before);
    expect((await attacker.get(`/api/v1/tunnels/${at}`)).body.routes).toHaveLength(4);
    await victimWhole('after the refusals');

    // The victim's share is intact: it still adds protected routes up to its own quota.
    const more = await victim.post(`/api/v1/tunnels/${vt}/routes?wait=10`, {
      service: 'http://localhost:8001',
      access: { emailDomains: ['corp.example'] },
    });
    const more2 = await victim.post(`/api/v1/tunnels/${vt}/routes?wait=10`, {
      service: 'http://localhost:8002',
      allowIps: ['198.51.100.0/24'],
    });
    expect([more.status, more2.status]).toEqual([201, 201]);
    // The account is nearly full now (8 of 9 applications, 3 of 3 tokens): a third user gets the
    // last application, then a clear refusal; a TCP route is refused for want of a token.
    const admin = stack.as('admin');
    const adt = (await admin.post('/api/v1/tunnels?wait=10', {})).body.name;
    expect(
      (
        await admin.post(`/api/v1/tunnels/${adt}/routes?wait=10`, {
          service: 'http://localhost:7001',
          allowIps: ['192.0.2.0/25'],
        })
      ).status,
    ).toBe(201);
    await refused(
      await admin.post(`/api/v1/tunnels/${adt}/routes`, {
        service: 'http://localhost:7002',
        allowIps: ['192.0.2.128/25'],
      }),
      409,
      'capacity.exhausted',
    );
    await refused(
      await victim.post(`/api/v1/tunnels/${vt}/routes`, {
        service: 'http://localhost:8003',
        allowIps: ['198.51.100.0/24'],
      }),
      403,
      'quota.exceeded',
    );
    expect(state().accessApps).toHaveLength(9);
    await victimWhole('with the account full');

    // What the attacker gives back is free again for others.
    for (const r of made)
      expect((await attacker.del(`/api/v1/tunnels/${at}/routes/${r.body.name}?wait=10`)).status).toBe(204);
    expect(
      (
        await admin.post(`/api/v1/tunnels/${adt}/routes?wait=10`, {
          service: 'http://localhost:7002',
          allowIps: ['192.0.2.128/25'],
        })
      ).status,
    ).toBe(201);
    await victimWhole('after');
  }, 120_000);

  it("paces each user's changes with 429 rate.limited and Retry-After, and leaves others alone", async () => {
    const paced = await startStack({
      cf,
      instance: null,
      config: { 'api.mutationsPerMinute': 6, 'api.mutationBurst': 3 },
    });
    try {
      const u = paced.as('user1');
      const statuses = [];
      for (let i = 0; i < 5; i++)
        statuses.push(await u.post('/api/v1/tunnels?wait=0', { name: `paced${i}` }));
      expect(statuses.map((r) => r.status)).toEqual([202, 202, 202, 429, 429]);
      expect(statuses[3]!.body.error.code).toBe('rate.limited');
      expect(Number(statuses[3]!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      // Reads are not paced; another user is not either.
      expect((await u.get('/api/v1/tunnels')).status).toBe(200);
      expect((await paced.as('user2').post('/api/v1/tunnels?wait=0', {})).status).toBe(202);
    } finally {
      await paced.stop();
    }
  });

  it("bounds the trail a user's refused requests leave, counting the rest", async () => {
    const u = stack.as('user1');
    const count = async () =>
      Number(
        (
          await stack.runtime.store.db
            .selectFrom('events')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('outcome', '=', 'error')
            .executeTakeFirstOrThrow()
        ).n,
      );
    const before = await count();
    for (let i = 0; i < 40; i++)
      expect((await u.post('/api/v1/tunnels/nosuch/routes', { service: 'http://x:1' })).status).toBe(404);
    const recorded = (await count()) - before;
    expect(recorded).toBeGreaterThan(0);
    expect(recorded).toBeLessThanOrEqual(10);
    // The rest are counted, in one event, when the server stops (or each minute).
    await stack.restart();
    const unrecorded = await stack.runtime.store.db
      .selectFrom('events')
      .selectAll()
      .where('action', '=', 'audit.unrecorded')
      .execute();
    expect(unrecorded.reduce((n, e) => n + (JSON.parse(e.details).refusedRequests as number), 0)).toBe(
      40 - recorded,
    );
  });
});

describe('a noisy user and a quiet one', () => {
  let cf: StartedCloudflareEmulator;
  let stack: Stack;
  beforeAll(async () => {
    cf = await startCloudflareEmulator({ port: 0, zoneName: 'example.com', retryAfterSeconds: 1 });
    // A small budget, so the noisy user's churn is what paces every call.
    stack = await startStack({
      cf,
      configMode: 'remote',
      config: { 'cloudflare.rateLimit.requests': 12, 'cloudflare.rateLimit.windowSeconds': 2 },
    });
  });
  afterAll(async () => {
    await stack?.stop();
    await cf?.close();
  });

  it("the quiet user's one change is live within a bound of Cloudflare calls, whatever the noisy one queues", async () => {
    const quiet = stack.as('user2');
    const qt = (await quiet.post('/api/v1/tunnels?wait=20', {})).body;
    expect(qt.phase).toBe('ready');
    const noisy = stack.as('user1');
    let churning = true;
    const worker = async (w: number) => {
      for (let i = 0; churning; i++) {
        const t = await noisy.post('/api/v1/tunnels?wait=0', { name: `noisy${w}x${i}` });
        if (t.status !== 202) continue;
        await noisy.post(`/api/v1/tunnels/${t.body.name}/routes?wait=0`, { service: 'http://10.0.0.1:80' });
        await noisy.del(`/api/v1/tunnels/${t.body.name}?wait=0`);
      }
    };
    const workers = Array.from({ length: 6 }, (_, w) => worker(w));
    // The budget is spent and the noisy user's work queues up.
    await eventually(async () => (await stack.runtime.store.work.queueDepth()) >= 6, 20_000, 50);
    await new Promise((r) => setTimeout(r, 1000));
    const mark = cf.control.requests().length;
    const r = await quiet.post(`/api/v1/tunnels/${qt.name}/routes?wait=0`, {
      service: 'http://localhost:8000',
    });
    expect(r.status).toBe(202);
    await eventually(
      async () => (await quiet.get(`/api/v1/tunnels/${qt.name}`)).body.routes[0]?.phase === 'ready',
      60_000,
      20,
    );
    const calls = cf.control.requests().length - mark;
    process.stdout.write(`the quiet route was live after ${calls} Cloudflare calls\n`);
    churning = false;
    await Promise.all(workers);
    // Its record and its configuration: two calls of its own, and a pass's worth of others'
    // (a pass takes at most claimPerOwner = 5 of one owner's tunnels while others wait).
    expect(calls).toBeLessThanOrEqual(40);
    expect(cfView(cf).records.map((x) => x.name)).toContain(r.body.hostname);
  }, 120_000);
});

describe.skipIf(!pgUrl)('two replicas on one token', () => {
  let cf: StartedCloudflareEmulator;
  let db: ScratchDatabase;
  const replicas: Stack[] = [];
  const BUDGET = { requests: 20, windowSeconds: 3 };
  beforeAll(async () => {
    // Cloudflare's own limiter, at the token's budget: any overspend is a 429.
    cf = await startCloudflareEmulator({
      port: 0,
      zoneName: 'example.com',
      retryAfterSeconds: 1,
      rateLimit: BUDGET,
    });
    db = await createScratchDatabase(pgUrl!, 'tp_budget');
    for (let i = 0; i < 2; i++) {
      replicas.push(
        await startStack({
          cf,
          instance: null,
          database: db.url,
          configMode: 'remote',
          config: {
            'cloudflare.rateLimit.requests': BUDGET.requests,
            'cloudflare.rateLimit.windowSeconds': BUDGET.windowSeconds,
          },
        }),
      );
    }
  }, 60_000);
  afterAll(async () => {
    for (const r of replicas) await r.stop();
    await cf?.close();
    await db?.drop();
  });

  it('stay within one budget together: Cloudflare never answers 429', async () => {
    cf.control.resetStats();
    const users = ['user1', 'user2'];
    const worker = async (w: number) => {
      const api = replicas[w % 2]!.as(users[w % 2]!);
      for (let i = 0; i < 8; i++) {
        const t = await api.post('/api/v1/tunnels?wait=0', { name: `b${w}x${i}` });
        if (t.status !== 202) continue;
        await api.post(`/api/v1/tunnels/${t.body.name}/routes?wait=0`, { service: 'http://10.0.0.1:80' });
        await api.del(`/api/v1/tunnels/${t.body.name}?wait=0`);
      }
    };
    // 32 tunnels made and deleted: several windows of demand beyond the budget.
    await Promise.all(Array.from({ length: 4 }, (_, w) => worker(w)));
    await eventually(async () => (await replicas[0]!.runtime.store.work.queueDepth()) === 0, 90_000, 200);
    const stats = cf.control.stats();
    // Not for want of demand: both replicas had calls waiting for the budget.
    for (const r of replicas) {
      const waited = (await fetch(`${r.url}/metrics`).then((res) => res.text())).match(
        /^tunnelplane_cloudflare_rate_limit_wait_seconds_total (\S+)$/m,
      );
      expect(Number(waited?.[1] ?? 0)).toBeGreaterThan(0);
    }
    expect(stats.total).toBeGreaterThan(BUDGET.requests);
    expect(stats.rateLimited).toBe(0);
  }, 150_000);
});
