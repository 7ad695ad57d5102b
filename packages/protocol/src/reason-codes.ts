/**
 * Reason codes and descriptions of docs/protocol.md "Results". The code tells the device what to
 * do next (the specification's meaning); the description tells a human why, in EMQX's words
 * where EMQX has one.
 */
export const ReasonCode = {
  Success: 0x00,
  Retransmit: 0x80,
  Cancel: 0x83,
  Busy: 0x97,
  SegmentsLost: 0x10,
} as const;

export type ReasonCodeValue = (typeof ReasonCode)[keyof typeof ReasonCode];

export type ReasonDescription =
  | 'success'
  | 'checksum_mismatch'
  | 'incomplete'
  | 'unavailable'
  | 'timeout'
  | 'invalid_file_command'
  | 'invalid_fileid'
  | 'invalid_offset'
  | 'invalid_size'
  | 'invalid_checksum'
  | 'invalid_filemeta_json'
  | 'invalid_filemeta'
  | 'filemeta_conflict'
  | 'file_too_large'
  | 'not_authorized'
  | 'aborted'
  | 'assembly_failed'
  | 'quota_exceeded'
  | 'busy'
  | 'segments_lost';

// One table, so that adding a description without deciding its code is a type error.
const CODE_OF: Readonly<Record<ReasonDescription, ReasonCodeValue>> = {
  success: ReasonCode.Success,
  checksum_mismatch: ReasonCode.Retransmit,
  incomplete: ReasonCode.Retransmit,
  unavailable: ReasonCode.Retransmit,
  timeout: ReasonCode.Retransmit,
  invalid_file_command: ReasonCode.Cancel,
  invalid_fileid: ReasonCode.Cancel,
  invalid_offset: ReasonCode.Cancel,
  invalid_size: ReasonCode.Cancel,
  invalid_checksum: ReasonCode.Cancel,
  invalid_filemeta_json: ReasonCode.Cancel,
  invalid_filemeta: ReasonCode.Cancel,
  filemeta_conflict: ReasonCode.Cancel,
  file_too_large: ReasonCode.Cancel,
  not_authorized: ReasonCode.Cancel,
  aborted: ReasonCode.Cancel,
  // The cluster gave up assembling the transfer (refused by storage, attempts or assemblers
  // used up): the transfer ended failed, the device may upload it again under a new fileId.
  assembly_failed: ReasonCode.Cancel,
  quota_exceeded: ReasonCode.Busy,
  busy: ReasonCode.Busy,
  segments_lost: ReasonCode.SegmentsLost,
};

export const REASON_DESCRIPTIONS: readonly ReasonDescription[] = Object.freeze(
  Object.keys(CODE_OF) as ReasonDescription[],
);

export function reasonCodeOf(description: ReasonDescription): ReasonCodeValue {
  return CODE_OF[description];
}

/** Narrows a string from outside (a log, an RPC, a stored record) to a known description. */
export function isReasonDescription(value: string): value is ReasonDescription {
  return Object.hasOwn(CODE_OF, value);
}
