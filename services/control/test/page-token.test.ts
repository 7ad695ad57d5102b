import { describe, expect, it } from 'vitest';
import { status } from '@grpc/grpc-js';
import { RpcError } from '../src/errors.js';
import { decodePageToken, encodePageToken, filterFingerprint } from '../src/page-token.js';

const filters = {
  clientId: 'dev-1',
  states: [3, 1],
  updatedAfterMs: 5,
  updatedBeforeMs: undefined,
};

function expectInvalid(fn: () => unknown, message: RegExp) {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RpcError);
    expect((err as RpcError).code).toBe(status.INVALID_ARGUMENT);
    expect((err as RpcError).message).toMatch(message);
    return;
  }
  throw new Error('expected INVALID_ARGUMENT');
}

describe('page tokens', () => {
  it('round-trip a cursor, as opaque base64url', () => {
    const fp = filterFingerprint(filters);
    const cursor = { score: 1_700_000_000_123, key: 'ZGV2LTE.Zi8x' };
    const token = encodePageToken(cursor, fp);
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodePageToken(token, fp)).toEqual(cursor);
  });

  it('fingerprints filters independently of the order of states', () => {
    expect(filterFingerprint(filters)).toBe(filterFingerprint({ ...filters, states: [1, 3, 3] }));
    expect(filterFingerprint(filters)).not.toBe(
      filterFingerprint({ ...filters, clientId: undefined }),
    );
    expect(filterFingerprint(filters)).not.toBe(
      filterFingerprint({ ...filters, updatedBeforeMs: 9 }),
    );
  });

  it('refuses a token of another listing', () => {
    const token = encodePageToken({ score: 1, key: 'a.b' }, filterFingerprint(filters));
    expectInvalid(
      () => decodePageToken(token, filterFingerprint({ ...filters, states: [] })),
      /other filters/,
    );
  });

  it('refuses garbage', () => {
    const fp = filterFingerprint(filters);
    for (const token of [
      '%%%',
      'bm90IGpzb24',
      Buffer.from('{"v":2,"s":1,"k":"a","f":"x"}').toString('base64url'),
      Buffer.from('{"v":1,"s":"1","k":"a"}').toString('base64url'),
      Buffer.from('null').toString('base64url'),
    ]) {
      expectInvalid(() => decodePageToken(token, fp), /page_token/);
    }
  });
});
