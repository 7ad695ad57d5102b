import { TransferState, type Timestamp, type Transfer } from '@mqft/api';
import { millisOf } from '../transfer-mapping.js';

export type TransferStateName =
  'receiving' | 'assembling' | 'complete' | 'failed' | 'aborted' | 'expired';

/** A transfer as the HTTP API shows it (snake_case JSON; times RFC 3339). */
export interface TransferJson {
  client_id: string;
  file_id: string;
  key: string;
  name: string;
  state: TransferStateName;
  size?: number;
  declared_size?: number;
  bytes_confirmed: number;
  segment_count: number;
  missing?: [number, number][];
  location?: string;
  checksum?: string;
  error_reason?: string;
  error_code?: number;
  user_data?: { [key: string]: unknown };
  created_at: string;
  updated_at: string;
  completed_at?: string;
  expire_at?: string;
}

export const STATE_NAMES: Readonly<Record<TransferStateName, TransferState>> = {
  receiving: TransferState.TRANSFER_STATE_RECEIVING,
  assembling: TransferState.TRANSFER_STATE_ASSEMBLING,
  complete: TransferState.TRANSFER_STATE_COMPLETE,
  failed: TransferState.TRANSFER_STATE_FAILED,
  aborted: TransferState.TRANSFER_STATE_ABORTED,
  expired: TransferState.TRANSFER_STATE_EXPIRED,
};

const NAME_OF = new Map<TransferState, TransferStateName>(
  Object.entries(STATE_NAMES).map(([name, state]) => [state, name as TransferStateName]),
);

/**
 * The gRPC API's Transfer (transfer-mapping.ts's view of the record, the one mapping) as
 * JSON. A transfer without any recorded time (a bare command of old) shows `now`.
 */
export function transferJson(transfer: Transfer, now: number): TransferJson {
  const created = transfer.createTime ?? transfer.updateTime;
  const updated = transfer.updateTime ?? transfer.createTime;
  const json: TransferJson = {
    client_id: transfer.clientId,
    file_id: transfer.fileId,
    key: transfer.key,
    name: transfer.name,
    // UNSPECIFIED (a record state this version does not know) shows as in progress.
    state: NAME_OF.get(transfer.state) ?? 'receiving',
    bytes_confirmed: transfer.bytesReceived,
    segment_count: transfer.segmentCount,
    created_at: rfc3339(created, now),
    updated_at: rfc3339(updated, now),
  };
  if (transfer.size !== undefined) json.size = transfer.size;
  if (transfer.declaredSize !== undefined) json.declared_size = transfer.declaredSize;
  if (transfer.missing.length > 0) json.missing = transfer.missing.map((r) => [r.start, r.end]);
  if (transfer.location !== '') json.location = transfer.location;
  if (transfer.checksum !== '') json.checksum = transfer.checksum;
  if (transfer.error) {
    json.error_reason = transfer.error.reasonDescription;
    json.error_code = transfer.error.reasonCode;
  }
  if (transfer.userData !== undefined) json.user_data = transfer.userData;
  if (transfer.completeTime) json.completed_at = rfc3339(transfer.completeTime, now);
  if (transfer.expireTime) json.expire_at = rfc3339(transfer.expireTime, now);
  return json;
}

function rfc3339(ts: Timestamp | undefined, fallbackMs: number): string {
  return new Date(ts ? millisOf(ts) : fallbackMs).toISOString();
}
