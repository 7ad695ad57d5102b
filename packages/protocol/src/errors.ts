import { reasonCodeOf, type ReasonCodeValue, type ReasonDescription } from './reason-codes.js';

/**
 * A failure the device is told about: `reason` becomes the result's `reason_description`
 * (and, through it, its `reason_code`); `message` is the detail for logs, never sent.
 */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  readonly reason: ReasonDescription;

  constructor(reason: ReasonDescription, message: string = reason) {
    super(message);
    this.reason = reason;
  }

  get code(): ReasonCodeValue {
    return reasonCodeOf(this.reason);
  }
}

export function isProtocolError(value: unknown): value is ProtocolError {
  return value instanceof ProtocolError;
}
