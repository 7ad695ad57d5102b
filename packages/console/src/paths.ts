import type { TransferFilter } from './transfer.js';

/** Path segments are percent-encoded: ids may hold '/', spaces, anything. */
const seg = encodeURIComponent;

export function transferPath(clientId: string, fileId: string, suffix = ''): string {
  return `api/v1/transfers/${seg(clientId)}/${seg(fileId)}${suffix}`;
}

/** EMQX-compatible description of a stored file (its `uri` is presigned with S3). */
export function storedFilePath(clientId: string, fileId: string): string {
  return `api/v5/file_transfer/files/${seg(clientId)}/${seg(fileId)}`;
}

export function listPath(filter: TransferFilter, limit: number, pageToken: string): string {
  const query = new URLSearchParams({ limit: String(limit) });
  if (filter.client !== '') query.set('client', filter.client);
  if (filter.state !== '') query.set('state', filter.state);
  if (pageToken !== '') query.set('page_token', pageToken);
  return `api/v1/transfers?${query}`;
}

/** Events of the filtered client; every state (a row leaving the state still updates). */
export function eventsPath(filter: TransferFilter): string {
  return filter.client === ''
    ? 'api/v1/events'
    : `api/v1/events?${new URLSearchParams({ client: filter.client })}`;
}
