import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ANONYMOUS_CLIENT_ID, parseTransferKey, transferKey } from '../src/index.js';
import { anyUnicodeString } from './arbitraries.js';

describe('transferKey', () => {
  it.each([
    ['dev1', 'f1'],
    ['dev1', '.'],
    ['dev1', '..'],
    ['dev/1', '; rm -rf ;'],
    [ANONYMOUS_CLIENT_ID, '🌚'],
    ['', 'f'],
    ['中文', 'a.b'],
  ])('round-trips (%j, %j)', (clientId, fileId) => {
    const key = transferKey({ clientId, fileId });
    expect(key).toMatch(/^[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+$/);
    expect(parseTransferKey(key)).toEqual({ clientId, fileId });
  });

  it('encodes as base64url of each part, joined by a dot', () => {
    expect(transferKey({ clientId: 'dev1', fileId: 'f1' })).toBe('ZGV2MQ.ZjE');
    expect(transferKey({ clientId: ANONYMOUS_CLIENT_ID, fileId: 'f' })).toBe('AA.Zg');
  });

  it.each([
    '',
    '.',
    'abc',
    'a.b.c',
    'a+b.c',
    'ZGV2MQ.',
    'ZGV2MQ=.ZjE',
    'ZGV2MR.ZjE',
    ' ZGV2MQ.ZjE',
  ])('refuses %j', (key) => {
    expect(parseTransferKey(key)).toBeUndefined();
  });
});

describe('transferKey, property', () => {
  it('round-trips any well-formed strings and is safe in subjects, keys and paths', () => {
    fc.assert(
      fc.property(anyUnicodeString(40), anyUnicodeString(40), (clientId, rawFileId) => {
        const fileId = rawFileId === '' ? 'f' : rawFileId; // a fileId is never empty
        const key = transferKey({ clientId, fileId });
        expect(key).toMatch(/^[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+$/);
        expect(parseTransferKey(key)).toEqual({ clientId, fileId });
      }),
      { numRuns: 1000 },
    );
  });

  it('is injective', () => {
    fc.assert(
      fc.property(
        fc.tuple(
          anyUnicodeString(10),
          anyUnicodeString(10).filter((s) => s !== ''),
        ),
        fc.tuple(
          anyUnicodeString(10),
          anyUnicodeString(10).filter((s) => s !== ''),
        ),
        ([c1, f1], [c2, f2]) => {
          const same = c1 === c2 && f1 === f2;
          const k1 = transferKey({ clientId: c1, fileId: f1 });
          const k2 = transferKey({ clientId: c2, fileId: f2 });
          expect(k1 === k2).toBe(same);
        },
      ),
    );
  });

  it('parseTransferKey never throws', () => {
    fc.assert(
      fc.property(fc.string(), (key) => {
        const parsed = parseTransferKey(key);
        if (parsed !== undefined) expect(transferKey(parsed)).toBe(key);
      }),
    );
  });
});
