import { describe, expect, it } from 'vitest';
import { StorageError } from '@mqft/storage';
import { ScriptReplyError } from '@mqft/state';
import { permanentCause } from '../src/failure.js';

describe('permanentCause', () => {
  it('a RangeError, however wrapped, is the data: invalid_data', () => {
    const stack = new RangeError('Maximum call stack size exceeded');
    expect(permanentCause(stack)).toBe('invalid_data');
    expect(permanentCause(new StorageError('begin', { code: 'io', cause: stack }))).toBe(
      'invalid_data',
    );
  });

  it('storage refusing the object for good: storage_refused', () => {
    expect(permanentCause(new StorageError('key', { code: 'invalid_target' }))).toBe(
      'storage_refused',
    );
  });

  it('anything else is worth another attempt', () => {
    expect(permanentCause(new StorageError('down', { code: 'io', retryable: true }))).toBe(
      undefined,
    );
    expect(permanentCause(new ScriptReplyError('s', 1, 'odd'))).toBe(undefined);
    expect(permanentCause(new Error('NATS timeout'))).toBe(undefined);
  });
});
