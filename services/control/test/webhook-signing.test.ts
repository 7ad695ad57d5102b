import { describe, expect, it } from 'vitest';
import { loadControlConfig } from '../src/config.js';
import { retryDelay } from '../src/webhooks/backoff.js';
import { signWebhook, verifyWebhook } from '../src/webhooks/signature.js';

describe('webhook signature', () => {
  const body = '{"id":"complete.a.b.1","kind":"complete"}';
  const now = 1_764_000_000_000;
  const timestamp = String(now / 1000);
  const signature = signWebhook('s3cret', timestamp, body);

  it('is sha256= and the hex HMAC-SHA256 of "<timestamp>.<body>"', () => {
    // Known answer, computed independently: printf '%s' "$ts.$body" | openssl dgst -sha256 -hmac s3cret
    expect(signature).toBe(
      'sha256=1d5ca47bafdebea51888aa97ded3ab8ccaaac434e74f4c70a24f444ba6334785',
    );
    expect(signWebhook('s3cret', timestamp, Buffer.from(body))).toBe(signature);
    expect(signWebhook('other', timestamp, body)).not.toBe(signature);
  });

  it('verifies the request as sent, and nothing else', () => {
    const request = { timestamp, signature, body };
    expect(verifyWebhook('s3cret', request, { nowMs: now })).toBe(true);
    expect(verifyWebhook('wrong', request, { nowMs: now })).toBe(false);
    expect(verifyWebhook('s3cret', { ...request, body: `${body} ` }, { nowMs: now })).toBe(false);
    expect(
      verifyWebhook('s3cret', { ...request, timestamp: `${now / 1000 + 1}` }, { nowMs: now }),
    ).toBe(false);
    expect(verifyWebhook('s3cret', { ...request, signature: undefined }, { nowMs: now })).toBe(
      false,
    );
    // A replay long after: refused by the timestamp tolerance (5 minutes by default).
    expect(verifyWebhook('s3cret', request, { nowMs: now + 301_000 })).toBe(false);
  });
});

describe('webhook retry delay', () => {
  it('doubles from the base up to the maximum, half of it jittered', () => {
    expect(retryDelay(1, 1000, 60_000, () => 0)).toBe(500);
    expect(retryDelay(1, 1000, 60_000, () => 1)).toBe(1000);
    expect(retryDelay(4, 1000, 60_000, () => 1)).toBe(8000);
    expect(retryDelay(4, 1000, 60_000, () => 0)).toBe(4000);
    expect(retryDelay(30, 1000, 60_000, () => 1)).toBe(60_000);
    expect(retryDelay(1000, 1000, 60_000, () => 0.5)).toBe(45_000);
  });
});

describe('webhook configuration', () => {
  it('needs an http(s) URL and a secret', () => {
    expect(() => loadControlConfig({ MQFT_WEBHOOK_URL: 'https://backend.example/hook' })).toThrow(
      /MQFT_WEBHOOK_SECRET is required/,
    );
    expect(() =>
      loadControlConfig({ MQFT_WEBHOOK_URL: 'ftp://backend.example', MQFT_WEBHOOK_SECRET: 'x' }),
    ).toThrow(/MQFT_WEBHOOK_URL: expected an http/);
    expect(
      loadControlConfig({ MQFT_WEBHOOK_URL: 'http://10.0.0.1/hook', MQFT_WEBHOOK_SECRET: 'x' })
        .webhookMaxAttempts,
    ).toBe(12);
    expect(loadControlConfig({}).webhookUrl).toBe('');
  });
});
