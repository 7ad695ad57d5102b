import type { ResultMessage } from '@mqft/protocol';

/**
 * Why an upload failed:
 * - `rejected`: the cluster answered 0x83 (cancel); `reasonDescription` says why.
 * - `gave_up`: a command got no usable result within the allowed attempts.
 * - `busy`: the cluster kept answering 0x97 (it sheds load, or the device is at its quota)
 *   for longer than `retry.busyTimeoutMs`: try again later.
 * - `aborted`: the caller's AbortSignal fired (the error's `name` is then `AbortError`).
 * - `checksum_mismatch`: the source does not have the checksum the upload declared.
 * - `source`: the source could not be read, changed while it was sent, or cannot be re-read
 *   for a retransmission (a stream whose confirmed data is gone).
 * - `connection`: the MQTT connection stayed down longer than `offlineTimeoutMs`.
 * - `unsupported`: the options cannot work (e.g. the emqx layout on MQTT 3.1.1, where the
 *   cluster cannot tell who the device is and therefore cannot answer it).
 */
export type UploadErrorKind =
  | 'rejected'
  | 'gave_up'
  | 'busy'
  | 'aborted'
  | 'checksum_mismatch'
  | 'source'
  | 'connection'
  | 'unsupported';

export class UploadError extends Error {
  readonly kind: UploadErrorKind;
  /** The reason code of the result that ended the upload, when a result did. */
  readonly reasonCode: number | undefined;
  /** The result's `reason_description` (`filemeta_conflict`, `timeout`, …). */
  readonly reasonDescription: string | undefined;
  /** The command topic the failure is about. */
  readonly topic: string | undefined;

  constructor(
    kind: UploadErrorKind,
    message: string,
    options: { result?: ResultMessage; topic?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = kind === 'aborted' ? 'AbortError' : 'UploadError';
    this.kind = kind;
    this.reasonCode = options.result?.reason_code;
    this.reasonDescription = options.result?.reason_description;
    this.topic = options.result?.topic ?? options.topic;
  }
}

export function rejected(result: ResultMessage): UploadError {
  const message = `the cluster refused ${result.topic}: ${result.reason_description}`;
  return new UploadError('rejected', message, { result });
}

export function stayedBusy(result: ResultMessage, answers: number, ms: number): UploadError {
  const seconds = Math.round(ms / 1000);
  const message =
    `the cluster stayed busy: ${result.topic} was answered 0x97 ${result.reason_description} ` +
    `${answers} times over ${seconds} s (retry.busyTimeoutMs); try again later`;
  return new UploadError('busy', message, { result });
}
