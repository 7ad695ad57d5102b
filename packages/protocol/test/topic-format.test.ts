import { describe, expect, it } from 'vitest';
import {
  formatTopic,
  ProtocolError,
  type Command,
  type Layout,
  type ReasonDescription,
} from '../src/index.js';
import { FILE_ID_256, HEX, HEX_UPPER } from './topic-fixtures.js';

describe('formatTopic', () => {
  it.each<[Command, Layout, string]>([
    [{ kind: 'init', root: '$file', fileId: 'f1' }, 'emqx', '$file/f1/init'],
    [{ kind: 'abort', root: '$file-async', fileId: 'f1' }, 'emqx', '$file-async/f1/abort'],
    [{ kind: 'segment', root: '$file', fileId: 'f1', offset: 0 }, 'emqx', '$file/f1/0'],
    [
      { kind: 'segment', root: '$file', fileId: 'f1', offset: 65536, checksum: HEX_UPPER },
      'emqx',
      `$file/f1/65536/${HEX}`,
    ],
    [{ kind: 'fin', root: '$file', fileId: 'f1', size: 3 }, 'emqx', '$file/f1/fin/3'],
    [
      { kind: 'fin', root: '$file', fileId: 'f1', size: 2 ** 53 - 1, checksum: HEX },
      'emqx',
      `$file/f1/fin/9007199254740991/${HEX}`,
    ],
    [{ kind: 'init', root: '$file', clientId: 'd', fileId: 'f1' }, 'emqx', '$file/f1/init'],
    [{ kind: 'init', root: '$file', clientId: 'd', fileId: 'f1' }, 'scoped', '$file/d/f1/init'],
    [
      { kind: 'fin', root: '$file-async', clientId: 'd', fileId: '..', size: 0 },
      'scoped',
      '$file-async/d/../fin/0',
    ],
  ])('%j in %s', (command, layout, topic) => {
    expect(formatTopic(command, layout)).toBe(topic);
  });

  it.each<[Command, Layout, ReasonDescription]>([
    [{ kind: 'init', root: '$file', fileId: 'f1' }, 'scoped', 'not_authorized'],
    [{ kind: 'init', root: '$file', clientId: '', fileId: 'f1' }, 'scoped', 'not_authorized'],
    [{ kind: 'init', root: '$file', clientId: 'a/b', fileId: 'f1' }, 'scoped', 'not_authorized'],
    [{ kind: 'init', root: '$file', fileId: '' }, 'emqx', 'invalid_fileid'],
    [{ kind: 'init', root: '$file', fileId: 'a/b' }, 'emqx', 'invalid_fileid'],
    [{ kind: 'init', root: '$file', fileId: FILE_ID_256 }, 'emqx', 'invalid_fileid'],
    [{ kind: 'init', root: '$files' as '$file', fileId: 'f1' }, 'emqx', 'invalid_file_command'],
    [{ kind: 'segment', root: '$file', fileId: 'f1', offset: -1 }, 'emqx', 'invalid_offset'],
    [{ kind: 'segment', root: '$file', fileId: 'f1', offset: 1.5 }, 'emqx', 'invalid_offset'],
    [{ kind: 'segment', root: '$file', fileId: 'f1', offset: 2 ** 53 }, 'emqx', 'invalid_offset'],
    [{ kind: 'fin', root: '$file', fileId: 'f1', size: NaN }, 'emqx', 'invalid_size'],
    [
      { kind: 'fin', root: '$file', fileId: 'f1', size: 1, checksum: 'ab' },
      'emqx',
      'invalid_checksum',
    ],
  ])('refuses %j in %s with %s', (command, layout, reason) => {
    expect(() => formatTopic(command, layout)).toThrow(ProtocolError);
    try {
      formatTopic(command, layout);
    } catch (error) {
      expect((error as ProtocolError).reason).toBe(reason);
    }
  });
});
