import { describe, expect, it } from 'vitest';
import {
  asciiJson,
  decodeMetadata,
  emqxMetadata,
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
    const metadata = emqxMetadata({ clientId: '\u0000', fileId: '🌚', name: 'n', filemetaJson });
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
});
