/**
 * The signature of a delivery: `x-tunnelplane-signature: sha256=<hex>`, the HMAC-SHA256 of
 * `<timestamp>.<body>` under the webhook's secret, with `x-tunnelplane-timestamp` the Unix time
 * in seconds. Signing the timestamp with the body lets a receiver refuse replays of old deliveries.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** `sha256=<hex>` for this body sent at `timestamp` (Unix seconds). */
export function signDelivery(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * What a receiver checks (docs/operator-guide.md shows the same in a few lines): the signature
 * matches in constant time, and the timestamp is within `toleranceSeconds` of its clock.
 */
export function verifyDelivery(input: {
  secret: string;
  body: string;
  timestamp: string | undefined;
  signature: string | undefined;
  toleranceSeconds?: number;
  nowSeconds?: number;
}): boolean {
  const ts = Number(input.timestamp);
  if (!input.signature || !Number.isInteger(ts)) return false;
  const now = input.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - ts) > (input.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(signDelivery(input.secret, ts, input.body));
  const given = Buffer.from(input.signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
