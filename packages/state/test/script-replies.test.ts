import { describe, expect, it } from 'vitest';
import { ScriptReplyError } from '../src/index.js';
import {
  acquireLease,
  claimDue,
  expireFin,
  failTransfer,
  recordAbort,
  recordFin,
  recordInit,
  recordSegment,
  releaseLock,
  renewLease,
  retryTransfer,
} from '../src/scripts.js';

/** Each script's decoder checks the reply: what the definition does not allow is refused. */
describe('script replies are decoded, not cast', () => {
  it('reads the replies the scripts give', () => {
    expect(recordSegment.decode(['recorded', ''])).toEqual({ status: 'recorded' });
    expect(recordSegment.decode(['recorded', '17'])).toEqual({
      status: 'recorded',
      superseded: 17,
    });
    expect(recordSegment.decode(['aborted', ''])).toEqual({ status: 'aborted' });
    expect(recordInit.decode(['same', 1])).toEqual({ status: 'same', ready: true });
    expect(recordFin.decode(['complete', 'file:///a'])).toEqual({
      status: 'complete',
      location: 'file:///a',
    });
    expect(recordFin.decode(['waiting', '1700000000000', 1])).toEqual({
      status: 'waiting',
      finAt: 1_700_000_000_000,
      init: true,
    });
    expect(
      recordFin.decode([
        'leased',
        '1700000000000',
        0,
        '4',
        '0',
        ['state', 'assembling'],
        1,
        ['12:10', '0'],
      ]),
    ).toEqual({
      status: 'leased',
      finAt: 1_700_000_000_000,
      init: false,
      token: 4,
      deaths: 0,
      hash: ['state', 'assembling'],
      segments: ['12:10', '0'],
    });
    expect(
      recordFin.decode(['leased', '1700000000000', 1, '4', '1', ['state', 'assembling'], 0, []]),
    ).toMatchObject({ status: 'leased', deaths: 1, segments: undefined });
    expect(recordAbort.decode(['complete', ''])).toEqual({
      status: 'complete',
      uploadId: '',
      finReply: '',
    });
    expect(acquireLease.decode(['acquired', '3', '1'])).toEqual({
      status: 'acquired',
      token: 3,
      deaths: 1,
    });
    expect(
      acquireLease.decode(['acquired', '3', '0', ['state', 'assembling'], 1, ['12:10', '0']]),
    ).toEqual({
      status: 'acquired',
      token: 3,
      deaths: 0,
      hash: ['state', 'assembling'],
      segments: ['12:10', '0'],
    });
    expect(acquireLease.decode(['backoff', '1700000002000'])).toEqual({
      status: 'backoff',
      retryAt: 1_700_000_002_000,
    });
    expect(recordInit.decode(['failed', 0, 'assembly_failed'])).toEqual({
      status: 'failed',
      ready: false,
      reason: 'assembly_failed',
    });
    expect(recordFin.decode(['failed', 'assembly_failed'])).toEqual({
      status: 'failed',
      reason: 'assembly_failed',
    });
    expect(retryTransfer.decode(['retry', 2, '1700000004000'])).toEqual({
      status: 'retry',
      attempts: 2,
      retryAt: 1_700_000_004_000,
    });
    expect(retryTransfer.decode(['exhausted', '5', '0'])).toMatchObject({
      status: 'exhausted',
      attempts: 5,
    });
    expect(failTransfer.decode(['failed', 'reply', 'upload-1'])).toEqual({
      status: 'failed',
      finReply: 'reply',
      uploadId: 'upload-1',
    });
    expect(acquireLease.decode(['not_ready', 'aborted'])).toEqual({
      status: 'not_ready',
      state: 'aborted',
    });
    expect(renewLease.decode(0)).toBe(false);
    expect(releaseLock.decode(1)).toBe(true);
    expect(claimDue.decode(['a', 'b'])).toEqual(['a', 'b']);
  });

  it.each([
    ['an unknown status', recordSegment, ['finished', '']],
    ['a status of another script', recordSegment, ['created', '']],
    ['a superseded sequence that is no number', recordSegment, ['recorded', 'x']],
    ['no list', recordSegment, 'recorded'],
    ['too many items', recordSegment, ['recorded', '', 'more', 'again']],
    ['an empty list', recordInit, []],
    ['a ready flag other than 0 or 1', recordInit, ['created', 2]],
    ['a fin time that is no number', recordFin, ['waiting', 'soon']],
    ['a missing fin time', recordFin, ['ready']],
    ['a ready fin without its init flag', recordFin, ['ready', '1700000000000']],
    ['a lease without its token', recordFin, ['leased', '1700000000000', 1, '', '0', [], 0, []]],
    ['a record that is no list', recordFin, ['leased', '1700000000000', 1, '4', '0', 'x', 0, []]],
    ['a status that is no string', recordAbort, [1, '', '']],
    ['a token that is no number', acquireLease, ['acquired', 'x', '0']],
    ['an acquired lease without its deaths', acquireLease, ['acquired', '3']],
    ['a back-off without its time', acquireLease, ['backoff', '']],
    ['a listed record that is no list', acquireLease, ['acquired', '3', '0', 'x', 0, []]],
    ['a retry without its attempts', retryTransfer, ['retry', '', '5']],
    ['an unknown failure status', failTransfer, ['gave_up', '', '']],
    ['a lease answer other than 0 or 1', renewLease, 'OK'],
    ['nil', releaseLock, null],
    ['keys that are no list', claimDue, 'a'],
    ['a key that is no string', claimDue, [['nested']]],
    ['an unknown expiry status', expireFin, ['gone', '']],
  ] as const)('refuses %s', (_what, script, reply) => {
    expect(() => script.decode(reply)).toThrow(ScriptReplyError);
    try {
      script.decode(reply);
    } catch (err) {
      expect(err).toMatchObject({ script: script.name, reply, reason: 'unavailable' });
    }
  });
});
