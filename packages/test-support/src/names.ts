import { randomBytes } from 'node:crypto';

let counter = 0;

function uniqueSuffix(): string[] {
  counter += 1;
  const rand = randomBytes(4).readUInt32BE(0).toString(36);
  return [String(process.pid), Date.now().toString(36), counter.toString(36) + rand];
}

/**
 * A name no other test (in this or a parallel process) uses, e.g.
 * `MQFT_T_4711_lx2k9a_1k3f9z`: letters, digits and `_` only, so it is a valid NATS stream
 * or consumer name, a Redis key prefix part and a subject token.
 */
export function uniqueName(prefix = 'MQFT_T'): string {
  const clean = prefix.replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+|_+$/g, '') || 'MQFT_T';
  return [clean, ...uniqueSuffix()].join('_');
}

/**
 * A unique S3 bucket name: lower-case letters, digits and `-`, 3–63 characters, starting
 * and ending with a letter or digit, e.g. `mqft-t-4711-lx2k9a-1k3f9z`.
 */
export function bucketName(prefix = 'mqft-t'): string {
  const clean =
    prefix
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'mqft';
  const suffix = uniqueSuffix().join('-');
  const head = clean.slice(0, 62 - suffix.length).replace(/-+$/, '');
  return `${head || 'b'}-${suffix}`;
}

/** The machine's shared NATS (JetStream enabled): tests create uniquely named streams on it. */
export function sharedNatsUrl(): string {
  return process.env.MQFT_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
}

/** The machine's shared Redis: tests use uniquely prefixed keys on it. */
export function sharedRedisUrl(): string {
  return process.env.MQFT_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
}
