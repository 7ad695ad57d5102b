import { createHash, timingSafeEqual } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import type { Metadata } from '@grpc/grpc-js';

/**
 * Bearer-token authentication of API calls (`authorization: Bearer <token>`). Tokens are
 * compared as SHA-256 digests with timingSafeEqual, and every configured token is compared
 * on every call, so neither a token's length nor which token matched shows in the timing.
 */
export class TokenAuthenticator {
  private readonly digests: Buffer[];

  constructor(tokens: readonly string[]) {
    this.digests = tokens.filter((token) => token !== '').map(digest);
  }

  /** False when no tokens are configured: every call is let through. */
  get enabled(): boolean {
    return this.digests.length > 0;
  }

  /** True when the call may proceed. */
  authenticate(metadata: Metadata): boolean {
    if (!this.enabled) return true;
    const token = bearerToken(metadata);
    return token !== undefined && this.accepts(token);
  }

  accepts(token: string): boolean {
    const presented = digest(token);
    let match = false;
    for (const accepted of this.digests) match = timingSafeEqual(presented, accepted) || match;
    return match;
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** The token of the first `authorization` value of the form `Bearer <token>`. */
export function bearerToken(metadata: Metadata): string | undefined {
  for (const value of metadata.get('authorization')) {
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(String(value));
    if (match) return match[1];
  }
  return undefined;
}

/** 127.0.0.0/8, ::1, ::ffff:127.x and `localhost`. 0.0.0.0 and :: listen everywhere. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return true;
  if (isIPv4(h)) return h.startsWith('127.');
  if (isIPv6(h))
    return h === '::1' || /^::ffff:127\./.test(h) || /^0*:0*:0*:0*:0*:0*:0*:0*1$/.test(h);
  return false;
}

/**
 * The rule for starting up: an API without tokens listens on loopback only, unless the
 * operator says another layer authenticates. Returns why not, or undefined when allowed.
 */
export function insecureListenProblem(
  host: string,
  tokens: readonly string[],
  allowInsecureRemote: boolean,
  api: 'gRPC' | 'HTTP' = 'gRPC',
): string | undefined {
  if (tokens.some((token) => token !== '') || isLoopbackHost(host) || allowInsecureRemote)
    return undefined;
  return (
    `refusing to serve the ${api} API on ${host} without MQFT_API_TOKENS: set tokens, listen on ` +
    'a loopback address, or set MQFT_GRPC_ALLOW_INSECURE_REMOTE=true if another layer authenticates'
  );
}
