/**
 * The event stream (`GET /api/v1/events/stream`, server-sent events) through the real server:
 * a subscriber sees its own events live and never another user's; an admin sees everyone's;
 * a subscriber that comes back with `Last-Event-ID` gets exactly the events it missed, in order,
 * then the live feed; the streams one user may hold are bounded; and a stream on one replica sees
 * what another replica wrote (events live in the database).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subscribe } from './support/sse.js';
import { eventually, startStack, type Stack } from './support/stack.js';

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('the event stream', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => stack?.stop());

  it('streams your own events live, never another user’s; admins see everyone’s', async () => {
    const mine = await subscribe(stack.url, basic('user1', 'user1password'));
    const admin = await subscribe(stack.url, basic('admin', 'adminpassword'));
    expect([mine.status, mine.contentType]).toEqual([200, 'text/event-stream; charset=utf-8']);
    const t1 = (await stack.as('user1').post('/api/v1/tunnels?wait=0', {})).body.name as string;
    const t2 = (await stack.as('user2').post('/api/v1/tunnels?wait=0', {})).body.name as string;
    await eventually(() => mine.got.some((e) => e.event === 'tunnel.create' && e.data.target === t1), 10_000);
    await eventually(
      () => admin.got.some((e) => e.data.target === t2) && admin.got.some((e) => e.data.target === t1),
      10_000,
    );
    // The other user's event went to the admin's stream, and not to user1's.
    expect(mine.got.some((e) => e.data.target === t2)).toBe(false);
    expect(mine.got.every((e) => e.id === e.data.id)).toBe(true);
    mine.close();
    admin.close();
  });

  it('resumes with Last-Event-ID: exactly the events missed, in order, then live', async () => {
    const u = stack.as('user1');
    const first = await subscribe(stack.url, basic('user1', 'user1password'));
    const t = (await u.post('/api/v1/tunnels?wait=0', {})).body.name as string;
    await eventually(() => first.got.some((e) => e.data.target === t), 10_000);
    const last = first.got.at(-1)!.id;
    first.close();
    // While away: three more of user1's events (and one of user2's).
    for (const service of ['http://localhost:1', 'http://localhost:2'])
      await u.post(`/api/v1/tunnels/${t}/routes?wait=0`, { service });
    await stack.as('user2').post('/api/v1/tunnels?wait=0', {});
    await u.del(`/api/v1/tunnels/${t}?wait=0`);
    const missed = ((await u.get('/api/v1/events?limit=100')).body.items as Array<{ id: number }>)
      .map((e) => e.id)
      .filter((id) => id > last)
      .sort((a, b) => a - b);
    expect(missed.length).toBeGreaterThanOrEqual(3);
    const back = await subscribe(stack.url, basic('user1', 'user1password'), last);
    await eventually(() => back.got.length >= missed.length, 10_000);
    expect(back.got.slice(0, missed.length).map((e) => e.id)).toEqual(missed);
    // Then live.
    const t3 = (await u.post('/api/v1/tunnels?wait=0', {})).body.name as string;
    await eventually(() => back.got.some((e) => e.data.target === t3), 10_000);
    const ids = back.got.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    back.close();
  });

  it('bounds the streams one user holds, and needs credentials', async () => {
    const open = [];
    for (let i = 0; i < 5; i++) open.push(await subscribe(stack.url, basic('user2', 'user2password')));
    expect(open.map((s) => s.status)).toEqual([200, 200, 200, 200, 200]);
    const sixth = await subscribe(stack.url, basic('user2', 'user2password'));
    expect(sixth.status).toBe(429);
    for (const s of open) s.close();
    expect((await subscribe(stack.url, 'Basic bm9wZTpub3Bl')).status).toBe(401);
    await eventually(async () => {
      const again = await subscribe(stack.url, basic('user2', 'user2password'));
      again.close();
      return again.status === 200;
    });
  });

  it('sees on one replica what another replica wrote', async () => {
    const other = await startStack({ cf: stack.cf, database: stack.runtime.config.database.url });
    try {
      const here = await subscribe(stack.url, basic('user2', 'user2password'));
      const t = (await other.as('user2').post('/api/v1/tunnels?wait=0', {})).body.name as string;
      await eventually(() => here.got.some((e) => e.data.target === t), 10_000);
      here.close();
    } finally {
      await other.stop();
    }
  });
});
