import { createHash } from 'node:crypto';
import type { IndexCursor } from '@mqft/state';
import { invalidArgument } from './errors.js';

/**
 * Page tokens are opaque to callers: base64url of a small JSON document holding the index
 * position the next page starts after, and a fingerprint of the filters, so a token is only
 * honoured for the listing that produced it. They hold no secrets: tampering only moves the
 * position, which callers may choose freely anyway.
 */
interface TokenBody {
  v: 1;
  /** The cursor's score (creation ms) and key. */
  s: number;
  k: string;
  /** The filters' fingerprint. */
  f: string;
}

export function encodePageToken(cursor: IndexCursor, filterFingerprint: string): string {
  const body: TokenBody = { v: 1, s: cursor.score, k: cursor.key, f: filterFingerprint };
  return Buffer.from(JSON.stringify(body), 'utf8').toString('base64url');
}

/** The cursor of a token; INVALID_ARGUMENT for anything this server did not hand out. */
export function decodePageToken(token: string, filterFingerprint: string): IndexCursor {
  let body: Partial<TokenBody>;
  try {
    if (!/^[A-Za-z0-9_-]+={0,2}$/.test(token)) throw new Error('not base64url');
    body = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<TokenBody>;
  } catch {
    throw invalidArgument('page_token is not a token this API handed out');
  }
  if (
    body === null ||
    typeof body !== 'object' ||
    body.v !== 1 ||
    typeof body.s !== 'number' ||
    !Number.isFinite(body.s) ||
    typeof body.k !== 'string'
  ) {
    throw invalidArgument('page_token is not a token this API handed out');
  }
  if (body.f !== filterFingerprint) {
    throw invalidArgument('page_token belongs to a listing with other filters');
  }
  return { score: body.s, key: body.k };
}

/** A short digest of the filters: the same listing yields the same fingerprint. */
export function filterFingerprint(filters: {
  clientId: string | undefined;
  states: readonly number[];
  updatedAfterMs: number | undefined;
  updatedBeforeMs: number | undefined;
}): string {
  const canonical = JSON.stringify([
    filters.clientId ?? null,
    [...new Set(filters.states)].sort((a, b) => a - b),
    filters.updatedAfterMs ?? null,
    filters.updatedBeforeMs ?? null,
  ]);
  return createHash('sha256').update(canonical).digest('base64url').slice(0, 12);
}
