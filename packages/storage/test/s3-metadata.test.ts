import { describe, expect, it } from 'vitest';
import {
  asciiJson,
  decodeMetadata,
  emqxMetadata,
  metadataBytes,
  S3_USER_METADATA_BYTES,
  fromHeader,
  headerSafe,
} from '../src/s3-metadata.js';

describe('S3 metadata', () => {
  it('keeps plain ASCII values as they are', () => {
    for (const value of ['dev-1', 'a b', '%2E', 'x=?y']) {
      expect(headerSafe(value)).toBe(value);
      expect(fromHeader(value)).toBe(value);
    }
  });

  it('encodes what a header cannot carry as RFC 2047 words, reversibly', () => {
    for (const value of [
      '🌚',
      '\u0000',
      '中文.txt',
      ' lead',
      'trail ',
      '',
      'tab\there',
      '=?UTF-8?B?AA==?=',
    ]) {
      const encoded = headerSafe(value);
      expect(encoded).toMatch(/^=\?UTF-8\?B\?[A-Za-z0-9+/=]*\?=$/);
      expect(fromHeader(encoded)).toBe(value);
    }
    expect(fromHeader('=?utf-8?b?8J+M?= =?UTF-8?B?mg==?=')).toBe('🌚');
  });

  it('stores filemeta as compact, ASCII-only, equivalent JSON', () => {
    const json = '{ "name": "中文.txt",\n  "user_data": {"moon": "🌚", "ctl": "\\u0001"} }';
    const ascii = asciiJson(json);
    expect(ascii).toMatch(/^[\x20-\x7e]*$/);
    expect(JSON.parse(ascii)).toEqual(JSON.parse(json));
    expect(() => asciiJson('{nope')).toThrow(/filemetaJson/);
  });

  it('builds EMQX’s four entries and decodes them back', () => {
    const filemetaJson = '{"name":"n"}';
    const { metadata, sidecar } = emqxMetadata({
      clientId: '\u0000',
      fileId: '🌚',
      name: 'n',
      filemetaJson,
    });
    expect(sidecar).toBe(undefined);
    expect(Object.keys(metadata).sort()).toEqual([
      'clientid',
      'fileid',
      'filemeta',
      'filemeta-vsn',
    ]);
    expect(decodeMetadata(metadata)).toEqual({
      clientid: '\u0000',
      fileid: '🌚',
      filemeta: filemetaJson,
      'filemeta-vsn': '1',
    });
  });

  it('keeps metadata within S3’s 2 KB: a subset there, the full init JSON for the sidecar', () => {
    const userData = { note: 'u'.repeat(4085) };
    const filemetaJson = JSON.stringify({ name: 'ud.bin', size: 10, user_data: userData, x: 1 });
    const { metadata, sidecar } = emqxMetadata({
      clientId: 'dev',
      fileId: 'f',
      name: 'ud.bin',
      filemetaJson,
    });
    expect(metadataBytes(metadata)).toBeLessThanOrEqual(S3_USER_METADATA_BYTES);
    expect(sidecar).toBe(filemetaJson);
    expect(metadata).toEqual({
      clientid: 'dev',
      fileid: 'f',
      filemeta: '{"name":"ud.bin","size":10}',
      'filemeta-vsn': '1',
      'filemeta-sidecar': '1',
    });
  });

  it('leaves out clientid, fileid and then the name when even the subset does not fit', () => {
    const name = '中'.repeat(80);
    const filemetaJson = JSON.stringify({ name, size: 1, user_data: 'u'.repeat(4000) });
    const long = { clientId: '🌚'.repeat(240), fileId: 'é'.repeat(120), name, filemetaJson };
    const { metadata } = emqxMetadata(long);
    expect(metadataBytes(metadata)).toBeLessThanOrEqual(S3_USER_METADATA_BYTES);
    expect(metadata.clientid).toBe(undefined);
    const longer = { ...long, name: '🌚'.repeat(60) };
    const { metadata: m } = emqxMetadata({
      ...longer,
      filemetaJson: JSON.stringify({ name: longer.name, size: 1, user_data: 'u'.repeat(4000) }),
    });
    expect(metadataBytes(m)).toBeLessThanOrEqual(S3_USER_METADATA_BYTES);
  });
});
