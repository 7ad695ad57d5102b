import { describe, expect, it } from 'vitest';
import { ListTransfersResponse, TransferState } from '@mqft/api';
import { ANONYMOUS_CLIENT_ID, transferKey } from '@mqft/protocol';
import type { TransferRecord } from '@mqft/state';
import {
  initExtras,
  millisOf,
  OMITTED_USER_DATA,
  structMessageDepth,
  timestamp,
  toTransfer,
} from '../src/transfer-mapping.js';

const NOW = 1_750_000_000_000;

function record(overrides: Partial<TransferRecord> = {}): TransferRecord {
  const id = { clientId: 'dev-1', fileId: 'f/1' };
  return { key: transferKey(id), ...id, state: 'receiving', bytes: 0, segCount: 0, ...overrides };
}

describe('toTransfer', () => {
  it('maps a receiving transfer with a failed fin', () => {
    const t = toTransfer(
      record({
        name: 'a.bin',
        filemeta: JSON.stringify({ name: 'a.bin', size: 10, user_data: { site: 'north', n: 3 } }),
        declaredSize: 10,
        bytes: 6,
        segCount: 2,
        createdAt: 1_700_000_000_123,
        updatedAt: 1_700_000_000_456,
        errorReason: 'incomplete',
        missing: [[6, 10]],
        expectedChecksum: 'ab'.repeat(32),
      }),
      NOW,
    );
    expect(t).toMatchObject({
      clientId: 'dev-1',
      fileId: 'f/1',
      key: transferKey({ clientId: 'dev-1', fileId: 'f/1' }),
      name: 'a.bin',
      state: TransferState.TRANSFER_STATE_RECEIVING,
      declaredSize: 10,
      bytesReceived: 6,
      segmentCount: 2,
      missing: [{ start: 6, end: 10 }],
      checksum: 'ab'.repeat(32),
      location: '',
      userData: { site: 'north', n: 3 },
      createTime: { seconds: 1_700_000_000, nanos: 123_000_000 },
      updateTime: { seconds: 1_700_000_000, nanos: 456_000_000 },
      error: { reasonCode: 0x80, reasonDescription: 'incomplete' },
    });
    expect(t.size).toBeUndefined();
    expect(t.completeTime).toBeUndefined();
  });

  it('maps a complete transfer: stored size, checksum, location, completion time', () => {
    const t = toTransfer(
      record({
        state: 'complete',
        size: 5,
        finSize: 5,
        checksum: 'cd'.repeat(32),
        expectedChecksum: 'ef'.repeat(32),
        location: 's3://b/k',
        completedAt: 1_700_000_001_000,
      }),
      NOW,
    );
    expect(t).toMatchObject({
      state: TransferState.TRANSFER_STATE_COMPLETE,
      size: 5,
      checksum: 'cd'.repeat(32),
      location: 's3://b/k',
      completeTime: { seconds: 1_700_000_001, nanos: 0 },
    });
    expect(t.error).toBeUndefined();
  });

  it('maps every stored state, and each reason to its protocol code', () => {
    expect(toTransfer(record({ state: 'assembling' }), NOW).state).toBe(
      TransferState.TRANSFER_STATE_ASSEMBLING,
    );
    expect(toTransfer(record({ state: 'aborted' }), NOW).state).toBe(
      TransferState.TRANSFER_STATE_ABORTED,
    );
    expect(
      toTransfer(record({ state: 'failed', errorReason: 'file_too_large' }), NOW),
    ).toMatchObject({
      state: TransferState.TRANSFER_STATE_FAILED,
      error: { reasonCode: 0x83, reasonDescription: 'file_too_large' },
    });
    expect(toTransfer(record({ errorReason: 'segments_lost' }), NOW).error?.reasonCode).toBe(0x10);
    expect(toTransfer(record({ errorReason: 'something_new' }), NOW).error).toEqual({
      reasonCode: 0x80,
      reasonDescription: 'something_new',
    });
  });

  it('is EXPIRED once the init expire_at passed, unless aborted or failed', () => {
    const filemeta = JSON.stringify({ name: 'a', expire_at: NOW / 1000 - 1 });
    const expired = toTransfer(record({ state: 'complete', filemeta }), NOW);
    expect(expired.state).toBe(TransferState.TRANSFER_STATE_EXPIRED);
    expect(expired.expireTime).toEqual({ seconds: NOW / 1000 - 1, nanos: 0 });
    expect(toTransfer(record({ state: 'aborted', filemeta }), NOW).state).toBe(
      TransferState.TRANSFER_STATE_ABORTED,
    );
    const later = JSON.stringify({ name: 'a', expire_at: NOW / 1000 + 60 });
    expect(toTransfer(record({ state: 'complete', filemeta: later }), NOW).state).toBe(
      TransferState.TRANSFER_STATE_COMPLETE,
    );
  });

  it('keeps the ids of the anonymous namespace', () => {
    const id = { clientId: ANONYMOUS_CLIENT_ID, fileId: 'x' };
    expect(toTransfer(record({ ...id, key: transferKey(id) }), NOW)).toMatchObject({
      clientId: '\u0000',
      key: 'AA.eA',
    });
  });
});

describe('initExtras', () => {
  it('wraps user_data that is not an object', () => {
    expect(initExtras('{"name":"a","user_data":"text"}').userData).toEqual({ value: 'text' });
    expect(initExtras('{"name":"a","user_data":[1,2]}').userData).toEqual({ value: [1, 2] });
    expect(initExtras('{"name":"a","user_data":null}').userData).toEqual({ value: null });
    expect(initExtras('{"name":"a","user_data":7}').userData).toEqual({ value: 7 });
    expect(initExtras('{"name":"a","user_data":{"k":{"deep":true}}}').userData).toEqual({
      k: { deep: true },
    });
  });

  it('yields nothing for no, malformed or non-object metadata', () => {
    expect(initExtras(undefined)).toEqual({});
    expect(initExtras('{not json')).toEqual({});
    expect(initExtras('[1]')).toEqual({});
    expect(initExtras('{"name":"a"}')).toEqual({});
  });
});

describe('timestamps', () => {
  it('round-trip milliseconds, including before 1970', () => {
    for (const ms of [0, 1, 999, 1_700_000_000_123, -1, -1_500]) {
      const ts = timestamp(ms);
      expect(ts?.nanos).toBeGreaterThanOrEqual(0);
      expect(ts?.nanos).toBeLessThan(1e9);
      expect(millisOf(ts as NonNullable<typeof ts>)).toBe(ms);
    }
    expect(timestamp(undefined)).toBeUndefined();
  });
});

describe('user_data a protobuf client can decode (issue 14 case 8)', () => {
  const objects = (levels: number): unknown => {
    let value: unknown = 1;
    for (let i = 0; i < levels; i++) value = { a: value };
    return value;
  };
  const arraysThenObjects = (levels: number): unknown => {
    let value: unknown = 1;
    for (let i = 0; i < levels - 1; i++) value = { a: value };
    return [value];
  };
  const roundTrip = (userData: unknown) => {
    const transfer = toTransfer(
      record({ name: 'a', filemeta: JSON.stringify({ name: 'a', user_data: userData }) }),
      NOW,
    );
    const bytes = ListTransfersResponse.encode({
      transfers: [transfer],
      nextPageToken: '',
    }).finish();
    return { transfer, decoded: () => ListTransfersResponse.decode(bytes) };
  };

  it('counts the nested messages exactly as the ts-proto decoder does', () => {
    // 2 (response, Transfer) + 1 (Struct) + 3 per object level below; the leaf is a Value.
    for (const levels of [1, 5, 32, 33]) {
      const struct = objects(levels) as object;
      const depth = structMessageDepth(struct, 3);
      expect(depth).toBe(2 + 3 * levels);
      const bytes = ListTransfersResponse.encode({
        transfers: [{ ...toTransfer(record(), NOW), userData: struct as never }],
        nextPageToken: '',
      }).finish();
      if (depth <= 100) expect(() => ListTransfersResponse.decode(bytes)).not.toThrow();
      else expect(() => ListTransfersResponse.decode(bytes)).toThrow(/recursion limit/);
    }
  });

  it('returns what MQFT_MAX_FILEMETA_DEPTH admits at its maximum (32: user_data 31 levels)', () => {
    for (const userData of [objects(31), arraysThenObjects(31)]) {
      const { transfer, decoded } = roundTrip(userData);
      expect(transfer.userData).not.toEqual(OMITTED_USER_DATA);
      expect(decoded().transfers).toHaveLength(1);
    }
  });

  it('replaces a deeper user_data (stored before the bound) with a marker', () => {
    const { transfer, decoded } = roundTrip(objects(33));
    expect(transfer.userData).toEqual(OMITTED_USER_DATA);
    expect(decoded().transfers[0]?.userData).toEqual(OMITTED_USER_DATA);
    // JSON.stringify itself overflows the stack on this one: the filemeta as a device sent it.
    const poison = `{"name":"a","user_data":[${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}]}`;
    expect(toTransfer(record({ name: 'a', filemeta: poison }), NOW).userData).toEqual(
      OMITTED_USER_DATA,
    );
  });
});
