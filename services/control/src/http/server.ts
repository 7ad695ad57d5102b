import { status } from '@grpc/grpc-js';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RpcError, toRpcError } from '../errors.js';
import { authenticateHttp } from './auth.js';
import { consoleRoutes } from './console-route.js';
import type { HttpDeps } from './context.js';
import { emqxRoutes } from './emqx-routes.js';
import { HttpError, httpErrorOf, notFound, unauthorized } from './errors.js';
import { eventsRoute } from './events-route.js';
import { openApiRoute } from './openapi.js';
import { sendError } from './respond.js';
import { Router, type Route } from './router.js';
import { transfersRoutes } from './transfers-routes.js';

/** The deadline of one request's work (an abort waits at most MQFT_ABORT_WAIT within it). */
const REQUEST_DEADLINE_MS = 30_000;
/** The route label of requests no route matched: the label set stays bounded. */
const UNMATCHED = 'unmatched';
/** Methods that get a label of their own; any other is `other`. */
const METHOD_LABELS = new Set(['GET', 'HEAD', 'POST', 'DELETE', 'PUT', 'PATCH', 'OPTIONS']);

export interface HttpApi {
  readonly server: Server;
  /** Listens; resolves with the port (the picked one for port 0). */
  listen(host: string, port: number): Promise<number>;
  /** Stops accepting, lets requests finish within `graceMs`, then closes every connection. */
  stop(graceMs: number): Promise<void>;
}

export function allRoutes(deps: HttpDeps): Route[] {
  return [
    ...emqxRoutes(deps),
    ...transfersRoutes(deps),
    eventsRoute(deps),
    openApiRoute(),
    ...consoleRoutes(deps.consoleDir),
  ];
}

/**
 * The HTTP API on node:http: EMQX-compatible /api/v5 routes, mqft's /api/v1, the console.
 * Every route but the console's assets and the OpenAPI document needs an API token.
 */
export function createHttpApi(deps: HttpDeps): HttpApi {
  const router = new Router(allRoutes(deps));
  const server = createServer({ requestTimeout: 0 }, (req, res) => {
    void handle(req, res);
  });
  server.keepAliveTimeout = 5_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    let route = UNMATCHED;
    const started = process.hrtime.bigint();
    try {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const rawPath = q < 0 ? url : url.slice(0, q);
      const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
      const match = router.match(method, rawPath);
      if (match === undefined) throw notFound(`no such route: ${method} ${rawPath.slice(0, 200)}`);
      if ('allowed' in match) {
        res.setHeader('allow', match.allowed.join(', '));
        throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${method} is not allowed here`);
      }
      route = match.route.template;
      if (!match.route.open && !authenticateHttp(deps.auth, req.headers)) {
        res.setHeader('www-authenticate', 'Bearer realm="mqft"');
        throw unauthorized(
          'a valid API token is required: "Authorization: Bearer <token>" or HTTP Basic with the token as password',
        );
      }
      const controller = new AbortController();
      res.on('close', () => {
        if (!res.writableFinished)
          controller.abort(new RpcError(status.CANCELLED, 'the client went away'));
      });
      await match.route.handle({
        req,
        res,
        params: match.params,
        query,
        scope: { deadline: Date.now() + REQUEST_DEADLINE_MS, signal: controller.signal },
      });
    } catch (err) {
      sendError(res, report(err, method, route));
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const label = METHOD_LABELS.has(method) ? method : 'other';
      deps.metrics.httpSeconds.observe({ route, method: label }, seconds);
      deps.metrics.httpRequests.inc({ route, method: label, code: String(res.statusCode) });
    }
  }

  function report(err: unknown, method: string, route: string): HttpError {
    if (err instanceof HttpError) return err;
    const rpcError = toRpcError(err);
    if (rpcError.code === status.INTERNAL)
      deps.ctx.logger.error({ err, method, route }, 'HTTP request failed');
    else if (rpcError.code === status.UNAVAILABLE)
      deps.ctx.logger.warn(
        { method, route, reason: rpcError.message },
        'HTTP request failed: dependency unavailable',
      );
    return httpErrorOf(rpcError);
  }

  return {
    server,
    listen: (host, port) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve((server.address() as AddressInfo).port);
        });
      }),
    stop: (graceMs) => closeServer(server, graceMs, deps),
  };
}

/** Stops accepting, closes idle keep-alive connections as they become idle, then forces. */
function closeServer(server: Server, graceMs: number, deps: HttpDeps): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve) => {
    const idle = setInterval(() => server.closeIdleConnections(), 100);
    const force = setTimeout(() => {
      deps.ctx.logger.warn(
        { graceMs },
        'HTTP requests still open after the shutdown grace; closing them',
      );
      server.closeAllConnections();
    }, graceMs);
    server.close(() => {
      clearInterval(idle);
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}
