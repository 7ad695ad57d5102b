import { describe, expect, it } from 'vitest';
import {
  canonicalFileMeta,
  parseFileMeta,
  ProtocolError,
  reasonCodeOf,
  type FileMeta,
  type FileMetaLimits,
  type ReasonDescription,
} from '../src/index.js';

const HEX = '0123456789abcdef'.repeat(4);
const bytes = (text: string) => new TextEncoder().encode(text);
const meta = (fields: Record<string, unknown>) => bytes(JSON.stringify(fields));

function rejection(payload: Uint8Array, limits?: FileMetaLimits): ProtocolError {
  try {
    parseFileMeta(payload, limits);
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return error as ProtocolError;
  }
  throw new Error('expected parseFileMeta to throw');
}

function expectRejected(payload: Uint8Array, reason: ReasonDescription, limits?: FileMetaLimits) {
  const error = rejection(payload, limits);
  expect(error.reason).toBe(reason);
  expect(error.code).toBe(reasonCodeOf(reason));
  expect(error.code).toBe(0x83);
}

describe('parseFileMeta: valid payloads', () => {
  it('reads every known field and drops unknown ones', () => {
    const payload = meta({
      name: 'a.txt',
      size: 3,
      checksum: HEX.toUpperCase(),
      expire_at: 1_700_000_000,
      segments_ttl: 600,
      user_data: { batch: 7, tags: ['x'] },
      unknown: 'ignored',
    });
    expect(parseFileMeta(payload)).toEqual({
      name: 'a.txt',
      size: 3,
      checksum: HEX,
      expire_at: 1_700_000_000,
      segments_ttl: 600,
      user_data: { batch: 7, tags: ['x'] },
    });
  });

  it('needs only a name', () => {
    expect(parseFileMeta(meta({ name: 'x' }))).toEqual({ name: 'x' });
  });

  it.each(['146%', '中文.txt', '🌚', 'a b', '...', '.hidden', 'x'.repeat(240), '中'.repeat(80)])(
    'accepts the name %s',
    (name) => {
      expect(parseFileMeta(meta({ name })).name).toBe(name);
    },
  );

  it.each([0, 1, 64 * 1024 ** 3])('accepts size %s', (size) => {
    expect(parseFileMeta(meta({ name: 'x', size })).size).toBe(size);
  });

  it.each([null, 0, 'text', [1, 2], { nested: { deep: true } }])(
    'accepts user_data %j',
    (userData) => {
      expect(parseFileMeta(meta({ name: 'x', user_data: userData })).user_data).toEqual(userData);
    },
  );

  it('accepts user_data of exactly 4 KiB serialized', () => {
    const userData = 'u'.repeat(4096 - 2); // the quotes make 4096
    expect(parseFileMeta(meta({ name: 'x', user_data: userData })).user_data).toBe(userData);
  });

  it('accepts a payload of exactly 64 KiB when MQFT_MAX_FILEMETA_BYTES allows it', () => {
    const base = JSON.stringify({ name: 'x', pad: '' });
    const padded = JSON.stringify({ name: 'x', pad: 'p'.repeat(65_536 - base.length) });
    expect(bytes(padded).byteLength).toBe(65_536);
    expect(parseFileMeta(bytes(padded), { maxBytes: 65_536 })).toEqual({ name: 'x' });
  });

  it('accepts a UTF-8 byte order mark', () => {
    expect(parseFileMeta(bytes('\ufeff{"name":"x"}'))).toEqual({ name: 'x' });
  });

  it('honours a configured maximum file size', () => {
    expect(parseFileMeta(meta({ name: 'x', size: 10 }), { maxFileSize: 10 }).size).toBe(10);
  });
});

describe('parseFileMeta: invalid_filemeta_json', () => {
  it.each<[string, Uint8Array]>([
    ['empty', new Uint8Array()],
    ['not JSON', bytes('name=x')],
    ['truncated JSON', bytes('{"name":"x"')],
    ['an array', bytes('[{"name":"x"}]')],
    ['null', bytes('null')],
    ['a string', bytes('"x"')],
    ['a number', bytes('1')],
    ['invalid UTF-8', new Uint8Array([0x7b, 0x22, 0x6e, 0x22, 0x3a, 0xff, 0x7d])],
    ['an overlong encoding', Uint8Array.from([...bytes('{"name":"'), 0xc0, 0xaf, ...bytes('"}')])],
    ['UTF-16', Buffer.from('{"name":"x"}', 'utf16le')],
    ['over 64 KiB', bytes(JSON.stringify({ name: 'x', pad: 'p'.repeat(65_536) }))],
  ])('%s', (_name, payload) => {
    expectRejected(payload, 'invalid_filemeta_json');
  });

  it('rejects over 64 KiB before parsing', () => {
    expectRejected(new Uint8Array(65_537).fill(0x20), 'invalid_filemeta_json');
  });
});

describe('parseFileMeta: invalid_filemeta', () => {
  it.each<[string, Record<string, unknown>]>([
    ['no name', {}],
    ['a numeric name', { name: 1 }],
    ['a null name', { name: null }],
    ['an empty name', { name: '' }],
    ['a 241-byte name', { name: 'x'.repeat(241) }],
    ['a 241-byte multibyte name', { name: '中'.repeat(80) + 'x' }],
    ['name .', { name: '.' }],
    ['name ..', { name: '..' }],
    ['name ../x', { name: '../x' }],
    ['name a/b', { name: 'a/b' }],
    ['name a\\b', { name: 'a\\b' }],
    ['name a:b', { name: 'a:b' }],
    ['a NUL in the name', { name: 'a\u0000b' }],
    ['a tab in the name', { name: 'a\tb' }],
    ['DEL in the name', { name: 'a\u007fb' }],
    ['a C1 control in the name', { name: 'a\u0085b' }],
    ['a lone surrogate in the name', { name: 'a\ud800b' }],
    ['U+FFFE in the name', { name: 'a\ufffeb' }],
    ['a negative size', { name: 'x', size: -1 }],
    ['a fractional size', { name: 'x', size: 1.5 }],
    ['a string size', { name: 'x', size: '3' }],
    ['a null size', { name: 'x', size: null }],
    ['an unsafe size', { name: 'x', size: 2 ** 53 }],
    ['a 63-hex checksum', { name: 'x', checksum: HEX.slice(1) }],
    ['a 65-hex checksum', { name: 'x', checksum: HEX + 'a' }],
    ['a non-hex checksum', { name: 'x', checksum: 'z'.repeat(64) }],
    ['a numeric checksum', { name: 'x', checksum: 1 }],
    ['a negative expire_at', { name: 'x', expire_at: -1 }],
    ['a string expire_at', { name: 'x', expire_at: '2030-01-01' }],
    ['a fractional segments_ttl', { name: 'x', segments_ttl: 0.5 }],
    ['a negative segments_ttl', { name: 'x', segments_ttl: -60 }],
    ['user_data over 4 KiB', { name: 'x', user_data: 'u'.repeat(4096 - 1) }],
    ['multibyte user_data over 4 KiB', { name: 'x', user_data: '中'.repeat(1365) }],
  ])('%s', (_name, fields) => {
    expectRejected(meta(fields), 'invalid_filemeta');
  });

  it('rejects a size of 1e400 (Infinity)', () => {
    expectRejected(bytes('{"name":"x","size":1e400}'), 'invalid_filemeta');
  });

  it('rejects deeply nested user_data without overflowing the stack', () => {
    const deep = `{"name":"x","user_data":${'['.repeat(8_000)}${']'.repeat(8_000)}}`;
    expectRejected(bytes(deep), 'invalid_filemeta');
  });
});

describe('parseFileMeta: size and depth bounds (MQFT_MAX_FILEMETA_BYTES, _DEPTH)', () => {
  const nested = (levels: number): string => '['.repeat(levels) + ']'.repeat(levels);

  it('bounds the depth of the whole payload, unknown fields included (issue 14 case 1)', () => {
    const poison = `{"name":"a.bin","size":1,"x":${nested(5000)}}`;
    expectRejected(bytes(poison), 'invalid_filemeta');
    // The object is level 1: 15 more levels fit the default 16, 16 do not.
    expect(() => parseFileMeta(bytes(`{"name":"a","x":${nested(15)}}`))).not.toThrow();
    expectRejected(bytes(`{"name":"a","x":${nested(16)}}`), 'invalid_filemeta');
    expect(rejection(bytes(`{"name":"a","x":${nested(16)}}`)).message).toMatch(/deeper than 16/);
  });

  it('takes a configured depth, never more than a protobuf client decodes (32)', () => {
    expectRejected(bytes(`{"name":"a","x":${nested(4)}}`), 'invalid_filemeta', { maxDepth: 4 });
    expect(() =>
      parseFileMeta(bytes(`{"name":"a","x":${nested(3)}}`), { maxDepth: 4 }),
    ).not.toThrow();
    expectRejected(bytes(`{"name":"a","x":${nested(32)}}`), 'invalid_filemeta', {
      maxDepth: 1000,
    });
  });

  it('bounds the payload size (default 16 KiB, configurable up to 64 KiB)', () => {
    const of = (n: number) => {
      const head = '{"name":"a","pad":"';
      return bytes(head + 'p'.repeat(n - head.length - 2) + '"}');
    };
    expect(of(16 * 1024).byteLength).toBe(16 * 1024);
    expect(() => parseFileMeta(of(16 * 1024))).not.toThrow();
    expectRejected(of(16 * 1024 + 1), 'invalid_filemeta_json');
    expect(() => parseFileMeta(of(40_000), { maxBytes: 64 * 1024 })).not.toThrow();
    expectRejected(of(64 * 1024 + 1), 'invalid_filemeta_json', { maxBytes: 1024 ** 3 });
    expectRejected(of(2000), 'invalid_filemeta_json', { maxBytes: 1024 });
  });

  it('accepts a 4 KiB user_data under the defaults', () => {
    const userData = { note: 'u'.repeat(4096 - '{"note":""}'.length) };
    expect(parseFileMeta(meta({ name: 'x', user_data: userData })).user_data).toEqual(userData);
  });
});

describe('parseFileMeta: file_too_large', () => {
  it('rejects a size above the default 64 GiB', () => {
    expectRejected(meta({ name: 'x', size: 64 * 1024 ** 3 + 1 }), 'file_too_large');
  });

  it('rejects a size above a configured maximum', () => {
    expectRejected(meta({ name: 'x', size: 11 }), 'file_too_large', { maxFileSize: 10 });
  });
});

describe('canonicalFileMeta', () => {
  it('is the same for the same metadata in any key order and checksum case', () => {
    const a: FileMeta = { name: 'x', checksum: HEX, user_data: { b: 1, a: [{ d: 1, c: 2 }] } };
    const b: FileMeta = {
      user_data: { a: [{ c: 2, d: 1 }], b: 1 },
      checksum: HEX.toUpperCase(),
      name: 'x',
    };
    expect(canonicalFileMeta(a)).toBe(canonicalFileMeta(b));
    expect(canonicalFileMeta(a)).toBe(
      `{"checksum":"${HEX}","name":"x","user_data":{"a":[{"c":2,"d":1}],"b":1}}`,
    );
  });

  it('differs when any field differs', () => {
    const base = canonicalFileMeta({ name: 'x', size: 1 });
    expect(canonicalFileMeta({ name: 'y', size: 1 })).not.toBe(base);
    expect(canonicalFileMeta({ name: 'x', size: 2 })).not.toBe(base);
    expect(canonicalFileMeta({ name: 'x' })).not.toBe(base);
    expect(canonicalFileMeta({ name: 'x', size: 1, segments_ttl: 300 })).not.toBe(base);
    expect(canonicalFileMeta({ name: 'x', size: 1, expire_at: 1 })).not.toBe(base);
    expect(canonicalFileMeta({ name: 'x', size: 1, user_data: null })).not.toBe(base);
  });

  it('ignores unknown fields of a parsed payload', () => {
    const plain = parseFileMeta(meta({ name: 'x', size: 1 }));
    const extra = parseFileMeta(meta({ extra: true, size: 1, name: 'x' }));
    expect(canonicalFileMeta(extra)).toBe(canonicalFileMeta(plain));
  });

  it('keeps a __proto__ key of user_data as data', () => {
    const parsed = parseFileMeta(bytes('{"name":"x","user_data":{"__proto__":{"a":1}}}'));
    expect(canonicalFileMeta(parsed)).toBe('{"name":"x","user_data":{"__proto__":{"a":1}}}');
  });
});
