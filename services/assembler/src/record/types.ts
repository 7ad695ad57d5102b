/** A stream message as the recording handlers see it. */
export interface StoredCommand {
  seq: number;
  data: Uint8Array;
}

/** A short, bounded word for the metric label and the log line. */
export type RecordOutcome = string;
