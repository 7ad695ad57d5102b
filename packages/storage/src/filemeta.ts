import { StorageError } from './storage.js';

/** The init JSON, parsed; init validated it already, so a failure here is a caller's bug. */
export function parseFilemeta(json: string): unknown {
  try {
    return JSON.parse(json);
  } catch (err) {
    throw new StorageError('filemetaJson is not valid JSON', {
      code: 'invalid_target',
      cause: err,
    });
  }
}
