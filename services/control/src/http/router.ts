import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CallScope } from '../context.js';
import { badRequest } from './errors.js';

export type Method = 'GET' | 'POST' | 'DELETE';

/** One request as a route handler sees it: path parameters percent-decoded. */
export interface HttpRequest {
  req: IncomingMessage;
  res: ServerResponse;
  params: Readonly<Record<string, string>>;
  query: URLSearchParams;
  /** Cancelled when the client goes away (or the server stops); a deadline for unary work. */
  scope: CallScope;
}

export interface Route {
  method: Method;
  /** `/api/v1/transfers/{clientId}/{fileId}`; a trailing `*` matches any rest. The metric label. */
  template: string;
  /** Served without a token (the console's assets, the OpenAPI document). */
  open?: boolean;
  handle(request: HttpRequest): Promise<void>;
}

export interface RouteMatch {
  route: Route;
  params: Record<string, string>;
}

/**
 * Matches a raw path (still percent-encoded, so that `%2F` inside a client id is not a
 * separator) against route templates. Returns the route, `allowed` methods when only the
 * method differs, or nothing.
 */
export class Router {
  private readonly compiled: { route: Route; parts: string[] }[];

  constructor(routes: readonly Route[]) {
    this.compiled = routes.map((route) => ({ route, parts: route.template.split('/') }));
  }

  match(method: string, rawPath: string): RouteMatch | { allowed: Method[] } | undefined {
    const segments = rawPath.split('/');
    const allowed: Method[] = [];
    for (const { route, parts } of this.compiled) {
      const params = matchParts(parts, segments);
      if (params === undefined) continue;
      if (route.method === method || (method === 'HEAD' && route.method === 'GET'))
        return { route, params };
      allowed.push(route.method);
    }
    return allowed.length > 0 ? { allowed } : undefined;
  }
}

function matchParts(parts: string[], segments: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (const [i, part] of parts.entries()) {
    if (part === '*') {
      params['*'] = segments.slice(i).join('/');
      return params;
    }
    const segment = segments[i];
    if (segment === undefined) return undefined;
    if (part.startsWith('{') && part.endsWith('}')) {
      if (segment === '') return undefined;
      params[part.slice(1, -1)] = decodeSegment(segment);
    } else if (part !== segment) return undefined;
  }
  return segments.length === parts.length ? params : undefined;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw badRequest(`malformed percent-encoding in the path: ${segment.slice(0, 64)}`);
  }
}
