import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signDelivery, verifyDelivery } from './signature.js';

const secret = 'a-secret-of-sixteen+';
const body = '{"id":1,"action":"tunnel.create"}';

describe('delivery signatures', () => {
  it('is the hex HMAC-SHA256 of "<timestamp>.<body>"', () => {
    const expected = createHmac('sha256', secret).update(`1700000000.${body}`).digest('hex');
    expect(signDelivery(secret, 1700000000, body)).toBe(`sha256=${expected}`);
  });

  const now = 1700000000;
  const good = {
    secret,
    body,
    timestamp: String(now),
    signature: signDelivery(secret, now, body),
    nowSeconds: now,
  };
  it.each<[string, Partial<typeof good> & { toleranceSeconds?: number }, boolean]>([
    ['the signature as sent', {}, true],
    ['a timestamp a little off', { nowSeconds: now + 299 }, true],
    ['a stale timestamp', { nowSeconds: now + 301 }, false],
    ['a timestamp from the future', { nowSeconds: now - 301 }, false],
    ['a tighter tolerance', { nowSeconds: now + 31, toleranceSeconds: 30 }, false],
    ['another body', { body: body.replace('1', '2') }, false],
    ['another secret', { secret: 'another-secret-of-16' }, false],
    ['a timestamp changed after signing', { timestamp: String(now + 1), nowSeconds: now + 1 }, false],
    ['a truncated signature', { signature: good.signature.slice(0, -1) }, false],
    ['no signature', { signature: undefined }, false],
    ['no timestamp', { timestamp: undefined }, false],
    ['a timestamp that is not a number', { timestamp: 'soon' }, false],
  ])('%s: %s', (_what, change, expected) => {
    expect(verifyDelivery({ ...good, ...change })).toBe(expected);
  });
});
