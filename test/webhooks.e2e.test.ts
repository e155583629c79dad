/**
 * Operator-configured webhooks through the real server: deliveries signed as the operator guide
 * says a receiver checks them, a second try (same delivery id) after a 500, a receiver that is
 * down shown to the admin with its last error, filtering by `events`, a test event for one
 * webhook only, and the reconciler converging while a receiver never answers.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../src/main/free-port.js';
import { eventually, startStack, type Stack } from './support/stack.js';

const SECRET = 'receiver-secret-0123456789';

/** `eventually`, for a value: waits until `fn` gives one (not null, undefined or false). */
const waitFor = async <T>(
  fn: () => Promise<T | null | undefined> | T | null | undefined,
  timeoutMs?: number,
) => (await eventually(fn, timeoutMs)) as T;

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  json: any;
  at: number;
}

/** A local HTTP receiver; `answer` gives each request's status, or `hang` to never answer. */
async function startReceiver(answer: (r: Received, n: number) => number | 'hang' = () => 204) {
  const received: Received[] = [];
  const hanging: ServerResponse[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const r = { headers: req.headers, body, json: JSON.parse(body), at: Date.now() };
      received.push(r);
      const status = answer(r, received.length);
      if (status === 'hang') hanging.push(res);
      else res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    /** Requests left without an answer whose connection is still open. */
    open: () => hanging.filter((res) => !res.destroyed && !res.closed).length,
    actions: () => received.map((r) => r.json.action as string),
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
type Receiver = Awaited<ReturnType<typeof startReceiver>>;

/** What docs/operator-guide.md tells a receiver to do: HMAC of "<timestamp>.<body>", constant-time compare, fresh timestamp. */
function verify(headers: IncomingHttpHeaders, body: string, secret: string): boolean {
  const timestamp = String(headers['x-tunnelplane-timestamp'] ?? '');
  const signature = String(headers['x-tunnelplane-signature'] ?? '');
  const expected = 'sha256=' + createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  const fresh = Math.abs(Date.now() / 1000 - Number(timestamp)) <= 300;
  const a = Buffer.from(signature);
  const b = Buffer.from(expected);
  return fresh && a.length === b.length && timingSafeEqual(a, b);
}

describe('webhooks', () => {
  let stack: Stack;
  let main: Receiver; // tunnel.create; answers 500 to its first request
  let tunnels: Receiver; // tunnel.*
  let routes: Receiver; // route.create
  let hang: Receiver; // everything; never answers
  let downUrl: string;

  beforeAll(async () => {
    main = await startReceiver((_r, n) => (n === 1 ? 500 : 204));
    tunnels = await startReceiver();
    routes = await startReceiver(() => 200);
    hang = await startReceiver(() => 'hang');
    downUrl = `http://hook:pw@127.0.0.1:${await freePort()}/down`;
    const hook = (name: string, url: string, events: string[], more: object = {}) => ({
      name,
      url,
      secret: SECRET,
      events,
      ...more,
    });
    stack = await startStack({
      config: {
        webhooks: [
          hook('main', main.url, ['tunnel.create']),
          hook('tunnels', tunnels.url, ['tunnel.*']),
          hook('routes', routes.url, ['route.create']),
          hook('down', downUrl, ['tunnel.create'], { timeoutMs: 2000 }),
          hook('hang', hang.url, ['*'], { timeoutMs: 1000 }),
        ],
        webhookDelivery: { maxAttempts: 3, backoffBaseSeconds: 0.2, backoffMaxSeconds: 0.4, pollMs: 50 },
      },
    });
    // A new webhook starts at the newest event: wait for the first round before making any.
    await eventually(async () => {
      for (const name of ['main', 'tunnels', 'routes', 'down', 'hang'])
        if ((await stack.runtime.store.webhooks.cursorOf(name)) === null) return false;
      return true;
    });
  });
  afterAll(async () => {
    await stack?.stop();
    await Promise.all([main, tunnels, routes, hang].map((r) => r?.close()));
  });

  const adminWebhooks = async () =>
    (await stack.as('admin').get('/api/v1/admin/webhooks')).body.items as Array<Record<string, any>>;
  const webhook = async (name: string) => (await adminWebhooks()).find((w) => w.name === name)!;
  /** The webhook's cursor has passed this event: it decided whether it wants it. */
  const considered = (name: string, eventId: number) =>
    eventually(async () => ((await stack.runtime.store.webhooks.cursorOf(name)) ?? 0) >= eventId);
  const deliveriesOf = (name: string) =>
    stack.runtime.store.db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('events as e', 'e.id', 'd.event_id')
      .select(['e.action', 'e.id'])
      .where('d.webhook', '=', name)
      .execute();

  it('delivers a signed event, and after a 500 tries again later with the same delivery id', async () => {
    const created = await stack.as('user1').post('/api/v1/tunnels?wait=10', {});
    expect(created.status).toBe(201);
    const [first, second] = await waitFor(() => (main.received.length >= 2 ? main.received : null));
    for (const r of [first!, second!]) {
      expect(verify(r.headers, r.body, SECRET)).toBe(true);
      expect(verify(r.headers, r.body, 'another-secret-0123456789')).toBe(false);
      expect(r.headers).toMatchObject({
        'content-type': 'application/json',
        'x-tunnelplane-event': 'tunnel.create',
      });
      expect(r.headers['user-agent']).toMatch(/^tunnelplane\/\d/);
      expect(r.json).toEqual({
        id: expect.any(Number),
        at: expect.any(String),
        actor: 'user1',
        action: 'tunnel.create',
        target: created.body.name,
        outcome: 'ok',
        details: expect.any(Object),
        owner: 'user1',
      });
    }
    expect(second!.headers['x-tunnelplane-delivery']).toBe(first!.headers['x-tunnelplane-delivery']);
    expect(second!.body).toBe(first!.body);
    // The backoff after the first attempt: at least half of backoffBaseSeconds.
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(100);
    const status = await waitFor(async () => {
      const w = await webhook('main');
      return w.delivered === 1 ? w : null;
    });
    expect(status).toMatchObject({
      url: main.url,
      events: ['tunnel.create'],
      pending: 0,
      failed: 0,
      lastError: { status: 500, error: 'HTTP 500' },
      recentFailures: [],
    });
    expect(status.lastDeliveredAt).toBeTruthy();
  });

  it('shows a receiver that is down to the admin, with its last error, after maxAttempts', async () => {
    await stack.as('user2').post('/api/v1/tunnels?wait=10', {});
    const down = await waitFor(async () => {
      const w = await webhook('down');
      return w.failed >= 1 ? w : null;
    });
    // Shown without the credentials in its URL.
    expect(down.url).toBe(downUrl.replace('hook:pw@', ''));
    expect(down.lastError).toMatchObject({ status: null, error: 'connection failed: ECONNREFUSED' });
    // Newest first: the deliveries retrying, and the ones failed for good.
    expect(down.recentFailures.find((f: any) => f.nextAttemptAt === null)).toMatchObject({
      action: 'tunnel.create',
      attempts: 3,
      lastStatus: null,
      lastError: 'connection failed: ECONNREFUSED',
      nextAttemptAt: null,
    });
    expect(JSON.stringify(await adminWebhooks())).not.toContain(SECRET);
    const doc = (await fetch(`${stack.url}/openapi.json`).then((r) => r.json())) as any;
    expect(Object.keys(doc.paths['/api/v1/admin/webhooks'].get.responses)).toContain('200');
    expect(doc.paths['/api/v1/admin/webhooks/{name}/test'].post.responses['202']).toBeTruthy();
    const refused = await stack.as('user1').get('/api/v1/admin/webhooks');
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('auth.forbidden');
  });

  it('sends each webhook only the events it asked for; a test event goes to one webhook only', async () => {
    const u = stack.as('user1');
    const t = (await u.post('/api/v1/tunnels?wait=10', {})).body;
    const r = await u.post(`/api/v1/tunnels/${t.name}/routes?wait=10`, { service: 'http://localhost:8000' });
    expect(r.status).toBe(201);
    const got = await waitFor(() => routes.received.find((x) => x.json.target.includes(r.body.name)));
    expect(got.json).toMatchObject({ action: 'route.create', owner: 'user1' });
    expect(verify(got.headers, got.body, SECRET)).toBe(true);
    await eventually(() => tunnels.received.some((x) => x.json.target === t.name));

    await considered('tunnels', got.json.id);
    await considered('routes', got.json.id);
    expect((await deliveriesOf('tunnels')).map((d) => d.action).every((a) => a.startsWith('tunnel.'))).toBe(
      true,
    );
    expect(tunnels.actions().every((a) => a.startsWith('tunnel.'))).toBe(true);
    expect((await deliveriesOf('routes')).map((d) => d.action)).toEqual(['route.create']);
    expect(new Set(main.actions())).toEqual(new Set(['tunnel.create']));

    const test = await stack.as('admin').post('/api/v1/admin/webhooks/routes/test');
    expect(test.status).toBe(202);
    expect(test.body).toMatchObject({ webhook: 'routes', eventId: expect.any(Number) });
    const ping = await waitFor(() => routes.received.find((x) => x.json.action === 'webhook.test'));
    expect(ping.json).toMatchObject({ actor: 'admin', target: 'routes', owner: null, id: test.body.eventId });
    expect(ping.headers['x-tunnelplane-delivery']).toBe(String(test.body.deliveryId));
    await considered('tunnels', test.body.eventId);
    await considered('hang', test.body.eventId);
    expect((await deliveriesOf('tunnels')).some((d) => d.action === 'webhook.test')).toBe(false);
    expect((await deliveriesOf('hang')).some((d) => d.action === 'webhook.test')).toBe(false);

    const unknown = await stack.as('admin').post('/api/v1/admin/webhooks/nope/test');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('webhook.not_found');
  });

  it('keeps the reconciler converging while a receiver never answers', async () => {
    const u = stack.as('user2');
    await u.post('/api/v1/tunnels?wait=0', {});
    // A delivery is held open by the receiver while the next tunnel is made.
    await eventually(() => hang.open() > 0);
    const t = await u.post('/api/v1/tunnels?wait=10', {});
    expect(t.status).toBe(201);
    expect(t.body.phase).toBe('ready');
    const r = await u.post(`/api/v1/tunnels/${t.body.name}/routes?wait=10`, {
      service: 'http://localhost:9000',
    });
    expect(r.status).toBe(201);
    expect(r.body.phase).toBe('ready');
    const w = await waitFor(async () => {
      const x = await webhook('hang');
      return x.lastError ? x : null;
    });
    expect(w.lastError).toMatchObject({ status: null, error: 'timed out after 1000 ms' });
    expect(w.delivered).toBe(0);
  });
});
