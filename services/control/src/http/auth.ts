import type { IncomingHttpHeaders } from 'node:http';
import type { TokenAuthenticator } from '../auth.js';

/**
 * The API token of a request: `Authorization: Bearer <token>`, or HTTP Basic as EMQX's API
 * keys are sent (`-u key:secret`): the password is the token (`<anything>:<token>`), or the
 * user name when the password is empty (`<token>:`).
 */
export function httpToken(headers: IncomingHttpHeaders): string | undefined {
  const value = headers.authorization;
  if (value === undefined) return undefined;
  const bearer = /^Bearer[ ]+(\S+)\s*$/i.exec(value);
  if (bearer) return bearer[1];
  const basic = /^Basic[ ]+([A-Za-z0-9+/=_-]+)\s*$/i.exec(value);
  if (!basic?.[1]) return undefined;
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const password = decoded.slice(colon + 1);
  const token = password !== '' ? password : decoded.slice(0, colon);
  return token === '' ? undefined : token;
}

/** True when the request may proceed (always, when no tokens are configured). */
export function authenticateHttp(auth: TokenAuthenticator, headers: IncomingHttpHeaders): boolean {
  if (!auth.enabled) return true;
  const token = httpToken(headers);
  return token !== undefined && auth.accepts(token);
}
