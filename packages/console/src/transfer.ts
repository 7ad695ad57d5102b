/** The states of a transfer, as the HTTP API names them. */
export const STATES = [
  'receiving',
  'assembling',
  'complete',
  'aborted',
  'failed',
  'expired',
] as const;
export type TransferState = (typeof STATES)[number];

/** A transfer as GET /api/v1/transfers and the event stream show it (the fields the page uses). */
export interface Transfer {
  client_id: string;
  file_id: string;
  key?: string;
  name: string;
  state: TransferState;
  size?: number;
  declared_size?: number;
  bytes_confirmed: number;
  missing?: [number, number][];
  location?: string;
  checksum?: string;
  error_reason?: string;
  error_code?: number;
  created_at: string;
  updated_at: string;
  completed_at?: string;
  expire_at?: string;
}

/** What the list shows: a client, a state, or everything. */
export interface TransferFilter {
  client: string;
  state: TransferState | '';
}

/** A transfer's identity on the page (client and file ids never contain NUL). */
export function rowKey(t: Pick<Transfer, 'client_id' | 'file_id'>): string {
  return `${t.client_id}\0${t.file_id}`;
}

/** The size the progress is measured against: the fin's (or stored) size, else the init's. */
export function expectedSize(t: Transfer): number | undefined {
  return t.size ?? t.declared_size;
}

/** Percent done, 0..100, or undefined when no size is known yet. A complete transfer is 100. */
export function percentDone(t: Transfer): number | undefined {
  if (t.state === 'complete') return 100;
  const size = expectedSize(t);
  if (size === undefined) return undefined;
  if (size === 0) return 100;
  return Math.min(100, Math.floor((t.bytes_confirmed / size) * 100));
}

/** Whether an operator may still abort it. */
export function isInFlight(t: Transfer): boolean {
  return t.state === 'receiving' || t.state === 'assembling';
}

/** Whether its stored file can be downloaded (complete and not deleted). */
export function isDownloadable(t: Transfer): boolean {
  return t.state === 'complete' && t.location !== undefined;
}

/** Whether the transfer belongs in a list with this filter. */
export function matchesFilter(t: Transfer, filter: TransferFilter): boolean {
  return (
    (filter.client === '' || t.client_id === filter.client) &&
    (filter.state === '' || t.state === filter.state)
  );
}

/** True when `next` is not older than `current` (events and pages may cross). */
export function isNewer(next: Transfer, current: Transfer): boolean {
  return Date.parse(next.updated_at) >= Date.parse(current.updated_at);
}
