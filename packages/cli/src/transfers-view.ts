import { Transfer, transferStateToJSON, type Timestamp, type TransferState } from '@mqft/api';
import { formatBytes, formatTable } from './format.js';

/** `RECEIVING` for TRANSFER_STATE_RECEIVING. */
export function stateName(state: TransferState): string {
  return transferStateToJSON(state).replace(/^TRANSFER_STATE_/, '');
}

/** The anonymous namespace (U+0000) is shown, and may be typed, as `%00`. */
export function showClientId(clientId: string): string {
  return clientId === '\u0000' ? '%00' : clientId;
}

export function readClientId(text: string): string {
  return text === '%00' ? '\u0000' : text;
}

export function time(t: Timestamp | undefined): string {
  if (t === undefined) return '';
  return new Date(t.seconds * 1000 + Math.floor(t.nanos / 1e6)).toISOString();
}

function sizeOf(t: Transfer): string {
  const size = t.size ?? t.declaredSize;
  return size === undefined ? '?' : formatBytes(size);
}

export function transfersTable(transfers: Transfer[]): string {
  const rows = transfers.map((t) => [
    showClientId(t.clientId),
    t.fileId,
    stateName(t.state),
    sizeOf(t),
    formatBytes(t.bytesReceived),
    time(t.updateTime),
    t.name,
  ]);
  return formatTable(['CLIENT', 'FILE', 'STATE', 'SIZE', 'RECEIVED', 'UPDATED', 'NAME'], rows);
}

/** One transfer as `field: value` lines, leaving out what is unset. */
export function transferDetails(t: Transfer): string {
  const fields: [string, string | undefined][] = [
    ['client', showClientId(t.clientId)],
    ['file', t.fileId],
    ['name', t.name || undefined],
    ['state', stateName(t.state)],
    ['size', t.size === undefined ? undefined : `${t.size} (${formatBytes(t.size)})`],
    ['declared size', t.declaredSize === undefined ? undefined : String(t.declaredSize)],
    ['received', `${t.bytesReceived} bytes in ${t.segmentCount} segments`],
    ['missing', t.missing.map((r) => `[${r.start},${r.end})`).join(' ') || undefined],
    ['checksum', t.checksum || undefined],
    ['location', t.location || undefined],
    [
      'error',
      t.error ? `${t.error.reasonDescription} (0x${t.error.reasonCode.toString(16)})` : undefined,
    ],
    ['user data', t.userData === undefined ? undefined : JSON.stringify(t.userData)],
    ['created', time(t.createTime) || undefined],
    ['updated', time(t.updateTime) || undefined],
    ['completed', time(t.completeTime) || undefined],
    ['expires', time(t.expireTime) || undefined],
    ['key', t.key],
  ];
  const shown = fields.filter((f): f is [string, string] => f[1] !== undefined);
  const width = Math.max(...shown.map(([k]) => k.length)) + 1;
  return shown.map(([k, v]) => `${`${k}:`.padEnd(width)} ${v}`).join('\n');
}

/** A one-line summary, for watch. */
export function transferLine(t: Transfer): string {
  const size = t.size ?? t.declaredSize;
  const progress = size === undefined ? `${t.bytesReceived}` : `${t.bytesReceived}/${size}`;
  const extra = t.location || (t.error ? t.error.reasonDescription : '');
  return `${showClientId(t.clientId)}/${t.fileId} ${stateName(t.state)} ${progress} bytes ${extra}`.trimEnd();
}

export function transferJson(t: Transfer): unknown {
  return Transfer.toJSON(t);
}
