/**
 * The transfer key: a reversible encoding of (clientId, fileId) that is safe as a NATS subject
 * token, a Redis key part and a path component. base64url has no `.`, so the join is
 * unambiguous; an empty clientId encodes to an empty first part.
 */
export interface TransferId {
  clientId: string;
  fileId: string;
}

/** The clientId of the anonymous namespace (emqx layout, no identity): U+0000, stored as `%00`. */
export const ANONYMOUS_CLIENT_ID = '\u0000';

const TRANSFER_KEY_PATTERN = /^([A-Za-z0-9_-]*)\.([A-Za-z0-9_-]+)$/;

export function transferKey(id: TransferId): string {
  return `${Buffer.from(id.clientId, 'utf8').toString('base64url')}.${Buffer.from(id.fileId, 'utf8').toString('base64url')}`;
}

/** The inverse of {@link transferKey}; undefined for anything that is not a transfer key. */
export function parseTransferKey(key: string): TransferId | undefined {
  const match = TRANSFER_KEY_PATTERN.exec(key);
  if (!match) return undefined;
  const clientId = Buffer.from(match[1] ?? '', 'base64url').toString('utf8');
  const fileId = Buffer.from(match[2] ?? '', 'base64url').toString('utf8');
  if (transferKey({ clientId, fileId }) !== key) return undefined;
  return { clientId, fileId };
}
