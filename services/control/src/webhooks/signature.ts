import { createHmac, timingSafeEqual } from 'node:crypto';

/** The headers of a webhook request (docs/events.md "Webhook"). */
export const WEBHOOK_HEADERS = {
  eventId: 'x-mqft-event-id',
  timestamp: 'x-mqft-timestamp',
  signature: 'x-mqft-signature',
  attempt: 'x-mqft-attempt',
} as const;

/**
 * `sha256=<hex>`: HMAC-SHA256, keyed with MQFT_WEBHOOK_SECRET, of `<timestamp>.<body>` (the
 * X-Mqft-Timestamp value, a dot, the raw body): the timestamp is signed too, so a captured
 * request cannot be replayed later with a new one.
 */
export function signWebhook(secret: string, timestamp: string, body: string | Uint8Array): string {
  const hmac = createHmac('sha256', secret);
  hmac.update(`${timestamp}.`);
  hmac.update(body);
  return `sha256=${hmac.digest('hex')}`;
}

/**
 * What a receiver does: recomputes the signature over the raw body, compares in constant time,
 * and refuses a timestamp further than `toleranceS` from its clock. Exported for tests and as
 * the reference of docs/events.md.
 */
export function verifyWebhook(
  secret: string,
  request: {
    timestamp: string | undefined;
    signature: string | undefined;
    body: string | Uint8Array;
  },
  options: { toleranceS?: number; nowMs?: number } = {},
): boolean {
  const { timestamp, signature, body } = request;
  if (timestamp === undefined || signature === undefined || !/^\d+$/.test(timestamp)) return false;
  const age = Math.abs((options.nowMs ?? Date.now()) / 1000 - Number(timestamp));
  if (age > (options.toleranceS ?? 300)) return false;
  const expected = Buffer.from(signWebhook(secret, timestamp, body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
