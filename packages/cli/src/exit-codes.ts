/**
 * Exit codes, stable for scripts (docs/cli.md). `mqft upload` uses all of them;
 * `mqft transfers …` uses 0–4 and 8–9.
 */
export const ExitCode = {
  Ok: 0,
  /** Anything unexpected. */
  Error: 1,
  /** Bad arguments. */
  Usage: 2,
  /** The broker (or the API) could not be reached, refused the connection, or went away. */
  Connection: 3,
  /** upload: the cluster refused the transfer (0x83). transfers: no such transfer. */
  Rejected: 4,
  /** upload: retries ran out (no result, or results that kept asking to retry). */
  GaveUp: 5,
  /** upload: interrupted (SIGINT/SIGTERM); the transfer was aborted. */
  Aborted: 6,
  /** upload: the file could not be read, changed while uploading, or fails --checksum. */
  Source: 7,
  /** transfers: the transfer is not in a state that allows this (e.g. url before complete). */
  Precondition: 8,
  /** transfers: the API refused the token. */
  Unauthorized: 9,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];
