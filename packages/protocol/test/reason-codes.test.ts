import { describe, expect, it } from 'vitest';
import {
  isProtocolError,
  isReasonDescription,
  ProtocolError,
  REASON_DESCRIPTIONS,
  ReasonCode,
  reasonCodeOf,
  type ReasonDescription,
} from '../src/index.js';

// docs/protocol.md "Results", one row per description.
const RESULTS_TABLE: [ReasonDescription, number][] = [
  ['success', 0x00],
  ['checksum_mismatch', 0x80],
  ['incomplete', 0x80],
  ['unavailable', 0x80],
  ['timeout', 0x80],
  ['invalid_file_command', 0x83],
  ['invalid_fileid', 0x83],
  ['invalid_offset', 0x83],
  ['invalid_size', 0x83],
  ['invalid_checksum', 0x83],
  ['invalid_filemeta_json', 0x83],
  ['invalid_filemeta', 0x83],
  ['filemeta_conflict', 0x83],
  ['file_too_large', 0x83],
  ['not_authorized', 0x83],
  ['aborted', 0x83],
  ['assembly_failed', 0x83],
  ['quota_exceeded', 0x97],
  ['busy', 0x97],
  ['segments_lost', 0x10],
];

describe('reason codes', () => {
  it('names the codes of the specification', () => {
    expect(ReasonCode).toEqual({
      Success: 0x00,
      Retransmit: 0x80,
      Cancel: 0x83,
      Busy: 0x97,
      SegmentsLost: 0x10,
    });
  });

  it.each(RESULTS_TABLE)('%s → 0x%s', (description, code) => {
    expect(reasonCodeOf(description)).toBe(code);
    expect(new ProtocolError(description, 'detail').code).toBe(code);
  });

  it('lists every description exactly once', () => {
    expect([...REASON_DESCRIPTIONS].sort()).toEqual(RESULTS_TABLE.map(([d]) => d).sort());
    expect(Object.isFrozen(REASON_DESCRIPTIONS)).toBe(true);
  });

  it('recognises descriptions from outside, and nothing else', () => {
    expect(isReasonDescription('busy')).toBe(true);
    expect(isReasonDescription('toString')).toBe(false);
    expect(isReasonDescription('BUSY')).toBe(false);
  });
});

describe('ProtocolError', () => {
  it('carries the reason, its code and a log message', () => {
    const error = new ProtocolError('invalid_offset', 'offset is -1');
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ProtocolError');
    expect(error.reason).toBe('invalid_offset');
    expect(error.code).toBe(0x83);
    expect(error.message).toBe('offset is -1');
    expect(isProtocolError(error)).toBe(true);
    expect(isProtocolError(new Error('x'))).toBe(false);
  });

  it('defaults the message to the reason', () => {
    expect(new ProtocolError('busy').message).toBe('busy');
  });
});
