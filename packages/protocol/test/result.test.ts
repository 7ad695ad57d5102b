import { describe, expect, it } from 'vitest';
import {
  ANONYMOUS_CLIENT_ID,
  buildErrorResult,
  buildResult,
  encodeResult,
  ProtocolError,
  responseTopicFor,
} from '../src/index.js';

describe('buildResult', () => {
  it('builds a success', () => {
    expect(buildResult({ deviceTopic: '$file/f1/init', reason: 'success' })).toEqual({
      vsn: '0.1',
      topic: '$file/f1/init',
      reason_code: 0,
      reason_description: 'success',
    });
  });

  it('adds the location of a stored file', () => {
    const result = buildResult({
      deviceTopic: '$file/f1/fin/3',
      reason: 'success',
      location: 's3://bucket/dev1/f1/a.txt',
    });
    expect(result.location).toBe('s3://bucket/dev1/f1/a.txt');
    expect(result).not.toHaveProperty('missing');
  });

  it('adds the missing ranges of an incomplete fin', () => {
    const missing: [number, number][] = [
      [0, 10],
      [20, 30],
    ];
    const result = buildResult({ deviceTopic: '$file/f1/fin/30', reason: 'incomplete', missing });
    expect(result).toEqual({
      vsn: '0.1',
      topic: '$file/f1/fin/30',
      reason_code: 0x80,
      reason_description: 'incomplete',
      missing: [
        [0, 10],
        [20, 30],
      ],
    });
    expect(result.missing).not.toBe(missing);
  });

  it('answers an error with its reason and code', () => {
    const error = new ProtocolError('invalid_offset', 'offset is -1');
    expect(buildErrorResult('$file/f1/-1', error)).toEqual({
      vsn: '0.1',
      topic: '$file/f1/-1',
      reason_code: 0x83,
      reason_description: 'invalid_offset',
    });
  });

  it('has no packet_id', () => {
    expect(buildResult({ deviceTopic: 't', reason: 'busy' })).not.toHaveProperty('packet_id');
  });
});

describe('encodeResult', () => {
  it('writes UTF-8 JSON in a stable field order', () => {
    const result = buildResult({ deviceTopic: '$file/🌚/init', reason: 'checksum_mismatch' });
    const bytes = encodeResult(result);
    expect(Buffer.isBuffer(bytes)).toBe(true);
    expect(bytes.toString('utf8')).toBe(
      '{"vsn":"0.1","topic":"$file/🌚/init","reason_code":128,"reason_description":"checksum_mismatch"}',
    );
    expect(JSON.parse(bytes.toString('utf8'))).toEqual(result);
  });
});

describe('responseTopicFor', () => {
  it('prefers the command Response Topic', () => {
    expect(responseTopicFor({ responseTopic: 'replies/x', clientId: 'dev1' })).toBe('replies/x');
    expect(responseTopicFor({ responseTopic: 'replies/x', anonymous: true })).toBe('replies/x');
  });

  it('never answers under a command root: $file-response/{clientId} instead (issue 14 case 7)', () => {
    for (const responseTopic of [
      '$file/victim/abort',
      '$file-async/v/init',
      '$file',
      '$file-async',
    ])
      expect(responseTopicFor({ responseTopic, clientId: 'dev1' })).toBe('$file-response/dev1');
    expect(responseTopicFor({ responseTopic: '$file/x/abort', anonymous: true })).toBe(undefined);
    expect(responseTopicFor({ responseTopic: '$filez/x', clientId: 'd' })).toBe('$filez/x');
  });

  it('else answers on $file-response/{clientId}', () => {
    expect(responseTopicFor({ clientId: 'dev1' })).toBe('$file-response/dev1');
    expect(responseTopicFor({ clientId: 'dev1', anonymous: false })).toBe('$file-response/dev1');
    expect(responseTopicFor({ responseTopic: '', clientId: 'dev1' })).toBe('$file-response/dev1');
    expect(responseTopicFor({ clientId: 'a/b' })).toBe('$file-response/a/b');
  });

  it('has nowhere to answer an unknown or anonymous sender', () => {
    expect(responseTopicFor({})).toBeUndefined();
    expect(responseTopicFor({ clientId: ANONYMOUS_CLIENT_ID, anonymous: true })).toBeUndefined();
    expect(responseTopicFor({ clientId: ANONYMOUS_CLIENT_ID })).toBeUndefined();
    expect(responseTopicFor({ clientId: 'dev1', anonymous: true })).toBeUndefined();
  });

  it('does not build a topic no broker would accept', () => {
    expect(responseTopicFor({ clientId: 'a+b' })).toBeUndefined();
    expect(responseTopicFor({ clientId: 'a#' })).toBeUndefined();
    expect(responseTopicFor({ clientId: '' })).toBeUndefined();
  });
});
