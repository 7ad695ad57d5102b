import { describe, expect, it } from 'vitest';
import { parseTopic, type Command, type Layout } from '../src/index.js';
import {
  failed,
  FILE_ID_255,
  FILE_ID_255_MULTIBYTE,
  HEX,
  HEX_UPPER,
  parsed,
} from './topic-fixtures.js';

describe('parseTopic, emqx layout: every command form', () => {
  it.each<[string, Command]>([
    ['$file/f1/init', { kind: 'init', root: '$file', fileId: 'f1' }],
    ['$file-async/f1/init', { kind: 'init', root: '$file-async', fileId: 'f1' }],
    ['$file/f1/0', { kind: 'segment', root: '$file', fileId: 'f1', offset: 0 }],
    ['$file/f1/1024', { kind: 'segment', root: '$file', fileId: 'f1', offset: 1024 }],
    ['$file/f1/000123', { kind: 'segment', root: '$file', fileId: 'f1', offset: 123 }],
    ['$file/f1/0000', { kind: 'segment', root: '$file', fileId: 'f1', offset: 0 }],
    [
      '$file/f1/9007199254740991',
      { kind: 'segment', root: '$file', fileId: 'f1', offset: 2 ** 53 - 1 },
    ],
    [`$file/f1/${'0'.repeat(40)}7`, { kind: 'segment', root: '$file', fileId: 'f1', offset: 7 }],
    [
      `$file-async/f1/10/${HEX}`,
      { kind: 'segment', root: '$file-async', fileId: 'f1', offset: 10, checksum: HEX },
    ],
    [
      `$file/f1/10/${HEX_UPPER}`,
      { kind: 'segment', root: '$file', fileId: 'f1', offset: 10, checksum: HEX },
    ],
    ['$file/f1/fin/0', { kind: 'fin', root: '$file', fileId: 'f1', size: 0 }],
    ['$file/f1/fin/0042', { kind: 'fin', root: '$file', fileId: 'f1', size: 42 }],
    [
      '$file/f1/fin/9007199254740991',
      { kind: 'fin', root: '$file', fileId: 'f1', size: 2 ** 53 - 1 },
    ],
    [
      `$file/f1/fin/42/${HEX_UPPER}`,
      { kind: 'fin', root: '$file', fileId: 'f1', size: 42, checksum: HEX },
    ],
    ['$file/f1/abort', { kind: 'abort', root: '$file', fileId: 'f1' }],
    ['$file-async/f1/abort', { kind: 'abort', root: '$file-async', fileId: 'f1' }],
  ])('%s', (topic, command) => {
    expect(parsed(topic)).toEqual(command);
  });
});

describe('parseTopic: fileIds devices really use', () => {
  it.each(['.', '..', '🌚', '; rm -rf ;', 'init', 'fin', 'abort', '0', '%2E', 'a b', FILE_ID_255])(
    'accepts %s',
    (fileId) => {
      expect(parsed(`$file/${fileId}/init`)).toEqual({ kind: 'init', root: '$file', fileId });
      expect(parsed(`$file/dev/${fileId}/7`, 'scoped')).toEqual({
        kind: 'segment',
        root: '$file',
        clientId: 'dev',
        fileId,
        offset: 7,
      });
    },
  );

  it('counts 255 bytes, not 255 characters', () => {
    expect(Buffer.byteLength(FILE_ID_255_MULTIBYTE)).toBe(255);
    expect(parsed(`$file/${FILE_ID_255_MULTIBYTE}/abort`)).toMatchObject({
      fileId: FILE_ID_255_MULTIBYTE,
    });
    const tooLong = failed(`$file/${FILE_ID_255_MULTIBYTE}x/abort`);
    expect(tooLong.error.reason).toBe('invalid_fileid');
  });
});

describe('parseTopic, scoped layout', () => {
  it.each<[string, Command]>([
    ['$file/dev1/f1/init', { kind: 'init', root: '$file', clientId: 'dev1', fileId: 'f1' }],
    [
      '$file-async/dev1/f1/5',
      { kind: 'segment', root: '$file-async', clientId: 'dev1', fileId: 'f1', offset: 5 },
    ],
    [
      `$file/dev1/f1/5/${HEX_UPPER}`,
      { kind: 'segment', root: '$file', clientId: 'dev1', fileId: 'f1', offset: 5, checksum: HEX },
    ],
    [
      '$file/dev1/f1/fin/9',
      { kind: 'fin', root: '$file', clientId: 'dev1', fileId: 'f1', size: 9 },
    ],
    [
      `$file/dev1/f1/fin/9/${HEX}`,
      { kind: 'fin', root: '$file', clientId: 'dev1', fileId: 'f1', size: 9, checksum: HEX },
    ],
    ['$file/dev1/f1/abort', { kind: 'abort', root: '$file', clientId: 'dev1', fileId: 'f1' }],
    ['$file/🌚/../init', { kind: 'init', root: '$file', clientId: '🌚', fileId: '..' }],
  ])('%s', (topic, command) => {
    expect(parsed(topic, 'scoped')).toEqual(command);
  });

  it('reads an emqx-layout init as clientId f1, fileId init, and no command', () => {
    const result = failed('$file/f1/init', 'scoped');
    expect(result.error.reason).toBe('invalid_file_command');
    expect(result).toMatchObject({ clientId: 'f1', fileId: 'init' });
  });
});

describe('parseTopic: prefix stripping (the loopback bridge)', () => {
  const prefix = 'mqft/in/';

  it.each<[Layout, string, Command]>([
    ['emqx', '$file/f1/init', { kind: 'init', root: '$file', fileId: 'f1' }],
    ['emqx', '$file-async/f1/3', { kind: 'segment', root: '$file-async', fileId: 'f1', offset: 3 }],
    ['scoped', '$file/d/f1/abort', { kind: 'abort', root: '$file', clientId: 'd', fileId: 'f1' }],
  ])('%s: %s', (layout, deviceTopic, command) => {
    const result = parseTopic(prefix + deviceTopic, { layout, prefix });
    expect(result).toEqual({ ok: true, command, deviceTopic });
  });

  it('reports the device topic, without the prefix, on failure too', () => {
    const result = failed('mqft/in/$file/f1/inti', 'emqx', prefix);
    expect(result).toMatchObject({ deviceTopic: '$file/f1/inti', fileId: 'f1' });
  });

  it('rejects a topic not under the prefix, keeping it whole', () => {
    const result = failed('$file/f1/init', 'emqx', prefix);
    expect(result.error.reason).toBe('invalid_file_command');
    expect(result.deviceTopic).toBe('$file/f1/init');
  });

  it('an empty prefix strips nothing', () => {
    expect(parseTopic('$file/f1/init', { layout: 'emqx', prefix: '' })).toMatchObject({
      ok: true,
      deviceTopic: '$file/f1/init',
    });
  });
});
