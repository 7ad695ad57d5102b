import { describe, expect, it } from 'vitest';
import { reasonCodeOf, type Layout, type ReasonDescription } from '../src/index.js';
import { failed, FILE_ID_256, HEX } from './topic-fixtures.js';

interface ErrorCase {
  topic: string;
  reason: ReasonDescription;
  layout?: Layout;
  fileId?: string;
  clientId?: string;
}

// Every parse error path, with what the failure must still tell about the sender.
const ERROR_CASES: ErrorCase[] = [
  // Not a command root.
  { topic: '', reason: 'invalid_file_command' },
  { topic: 'file/f1/init', reason: 'invalid_file_command' },
  { topic: '$files/f1/init', reason: 'invalid_file_command' },
  { topic: '$FILE/f1/init', reason: 'invalid_file_command' },
  { topic: '$file-response/f1/init', reason: 'invalid_file_command' },
  { topic: '/$file/f1/init', reason: 'invalid_file_command' },
  // Wrong number of levels.
  { topic: '$file', reason: 'invalid_file_command' },
  { topic: '$file/', reason: 'invalid_file_command' },
  { topic: '$file/f1', reason: 'invalid_file_command', fileId: 'f1' },
  { topic: `$file/f1/fin/1/${HEX}/x`, reason: 'invalid_file_command', fileId: 'f1' },
  { topic: '$file//', reason: 'invalid_file_command', layout: 'scoped' },
  { topic: '$file/dev', reason: 'invalid_file_command', layout: 'scoped', clientId: 'dev' },
  {
    topic: `$file/dev/f1/fin/1/${HEX}/x`,
    reason: 'invalid_file_command',
    layout: 'scoped',
    clientId: 'dev',
    fileId: 'f1',
  },
  // Extra levels after a command, unknown keywords (case matters).
  { topic: '$file/f1/init/x', reason: 'invalid_file_command', fileId: 'f1' },
  { topic: '$file/f1/init/', reason: 'invalid_file_command', fileId: 'f1' },
  { topic: '$file/f1/abort/1', reason: 'invalid_file_command', fileId: 'f1' },
  { topic: `$file/f1/1/${HEX}/x`, reason: 'invalid_file_command', fileId: 'f1' },
  { topic: '$file/f1/inti', reason: 'invalid_file_command', fileId: 'f1' },
  { topic: '$file/f1/Init', reason: 'invalid_file_command', fileId: 'f1' },
  { topic: '$file/f1/FIN/1', reason: 'invalid_file_command', fileId: 'f1' },
  { topic: '$file/f1/undefined', reason: 'invalid_file_command', fileId: 'f1' },
  { topic: `$file/f1/seg/${HEX}`, reason: 'invalid_file_command', fileId: 'f1' },
  // fileId.
  { topic: '$file//init', reason: 'invalid_fileid' },
  { topic: '$file//0', reason: 'invalid_fileid' },
  { topic: `$file/${FILE_ID_256}/init`, reason: 'invalid_fileid' },
  { topic: '$file/\ud800/init', reason: 'invalid_fileid' },
  { topic: '$file/a+b/init', reason: 'invalid_fileid' },
  { topic: '$file/a#/init', reason: 'invalid_fileid' },
  { topic: '$file/a\u0000/init', reason: 'invalid_fileid' },
  { topic: '$file/dev//init', reason: 'invalid_fileid', layout: 'scoped', clientId: 'dev' },
  // Scoped clientId.
  { topic: '$file//f1/init', reason: 'not_authorized', layout: 'scoped', fileId: 'f1' },
  { topic: '$file/a\u0000b/f1/init', reason: 'not_authorized', layout: 'scoped', fileId: 'f1' },
  {
    topic: `$file/${'c'.repeat(65_536)}/f1/init`,
    reason: 'not_authorized',
    layout: 'scoped',
    fileId: 'f1',
  },
  { topic: '$file/+/f1/init', reason: 'not_authorized', layout: 'scoped', fileId: 'f1' },
  { topic: '$file/\udc00/f1/init', reason: 'not_authorized', layout: 'scoped', fileId: 'f1' },
  // offset.
  { topic: '$file/f1/', reason: 'invalid_offset', fileId: 'f1' },
  { topic: '$file/f1/-1', reason: 'invalid_offset', fileId: 'f1' },
  { topic: '$file/f1/+1', reason: 'invalid_offset', fileId: 'f1' },
  { topic: '$file/f1/1.5', reason: 'invalid_offset', fileId: 'f1' },
  { topic: '$file/f1/1e3', reason: 'invalid_offset', fileId: 'f1' },
  { topic: '$file/f1/0x10', reason: 'invalid_offset', fileId: 'f1' },
  { topic: '$file/f1/ 1', reason: 'invalid_offset', fileId: 'f1' },
  { topic: '$file/f1/1 ', reason: 'invalid_offset', fileId: 'f1' },
  { topic: '$file/f1/１２', reason: 'invalid_offset', fileId: 'f1' },
  { topic: '$file/f1/12abc', reason: 'invalid_offset', fileId: 'f1' },
  { topic: '$file/f1/9007199254740992', reason: 'invalid_offset', fileId: 'f1' },
  { topic: '$file/f1/9007199254740993', reason: 'invalid_offset', fileId: 'f1' },
  { topic: `$file/f1/${'9'.repeat(400)}`, reason: 'invalid_offset', fileId: 'f1' },
  { topic: `$file/f1/-1/${HEX}`, reason: 'invalid_offset', fileId: 'f1' },
  {
    topic: '$file/dev/f1/-1',
    reason: 'invalid_offset',
    layout: 'scoped',
    clientId: 'dev',
    fileId: 'f1',
  },
  // size.
  { topic: '$file/f1/fin', reason: 'invalid_size', fileId: 'f1' },
  { topic: '$file/f1/fin/', reason: 'invalid_size', fileId: 'f1' },
  { topic: '$file/f1/fin/-1', reason: 'invalid_size', fileId: 'f1' },
  { topic: '$file/f1/fin/1.0', reason: 'invalid_size', fileId: 'f1' },
  { topic: '$file/f1/fin/abc', reason: 'invalid_size', fileId: 'f1' },
  { topic: '$file/f1/fin/9007199254740992', reason: 'invalid_size', fileId: 'f1' },
  { topic: `$file/f1/fin/x/${HEX}`, reason: 'invalid_size', fileId: 'f1' },
  {
    topic: '$file/d/f1/fin',
    reason: 'invalid_size',
    layout: 'scoped',
    clientId: 'd',
    fileId: 'f1',
  },
  // checksum.
  { topic: `$file/f1/0/${HEX.slice(1)}`, reason: 'invalid_checksum', fileId: 'f1' },
  { topic: `$file/f1/0/${HEX}0`, reason: 'invalid_checksum', fileId: 'f1' },
  { topic: `$file/f1/0/${'g'.repeat(64)}`, reason: 'invalid_checksum', fileId: 'f1' },
  { topic: '$file/f1/0/', reason: 'invalid_checksum', fileId: 'f1' },
  { topic: `$file/f1/fin/9/${HEX.slice(1)}`, reason: 'invalid_checksum', fileId: 'f1' },
  { topic: `$file/f1/fin/9/${HEX}0`, reason: 'invalid_checksum', fileId: 'f1' },
  { topic: '$file/f1/fin/9/', reason: 'invalid_checksum', fileId: 'f1' },
  {
    topic: `$file/d/f1/fin/9/${HEX}0`,
    reason: 'invalid_checksum',
    layout: 'scoped',
    clientId: 'd',
    fileId: 'f1',
  },
];

describe('parseTopic: every error path', () => {
  it.each(ERROR_CASES.map((c) => [c.topic.slice(0, 80), c] as const))('%s', (_name, c) => {
    const result = failed(c.topic, c.layout ?? 'emqx');
    expect(result.error.reason).toBe(c.reason);
    expect(result.error.code).toBe(reasonCodeOf(c.reason));
    // Every malformed command tells the device to cancel the transfer.
    expect(result.error.code).toBe(0x83);
    expect(result.deviceTopic).toBe(c.topic);
    expect(result.fileId).toBe(c.fileId);
    expect(result.clientId).toBe(c.clientId);
    expect(result.error.message.length).toBeGreaterThan(0);
  });

  it('both roots fail the same way', () => {
    for (const root of ['$file', '$file-async']) {
      expect(failed(`${root}/f1/fin`).error.reason).toBe('invalid_size');
      expect(failed(`${root}/f1/x1`).error.reason).toBe('invalid_offset');
    }
  });

  it('checks the level count before the fileId, and the fileId before the command', () => {
    expect(failed(`$file/${FILE_ID_256}`).error.reason).toBe('invalid_file_command');
    expect(failed(`$file/${FILE_ID_256}/-1`).error.reason).toBe('invalid_fileid');
    expect(failed('$file//f1/-1', 'scoped').error.reason).toBe('not_authorized');
    expect(failed(`$file/f1/fin/x/${HEX}0`).error.reason).toBe('invalid_size');
  });
});
