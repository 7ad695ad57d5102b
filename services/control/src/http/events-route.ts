import { status } from '@grpc/grpc-js';
import { WatchEventType, type WatchTransfersResponse } from '@mqft/api';
import type { ServerResponse } from 'node:http';
import { RpcError, toRpcError } from '../errors.js';
import { watchTransfers } from '../rpc/watch-transfers.js';
import type { HttpDeps } from './context.js';
import { httpErrorOf } from './errors.js';
import type { Route } from './router.js';
import { transferJson } from './transfer-json.js';
import { statesOf } from './transfers-routes.js';

/**
 * GET /api/v1/events: the Watch API as Server-Sent Events. `event: ready` once the stream is
 * subscribed (after the snapshot, with `?snapshot=true`), then `event: transfer` with a
 * transfer's JSON on each change; a comment line every heartbeat; `event: error` before the
 * server ends the stream (shutting down, lost its event feed): reconnect, as EventSource does.
 */
export function eventsRoute(deps: HttpDeps): Route {
  const { ctx, metrics } = deps;
  return {
    method: 'GET',
    template: '/api/v1/events',
    async handle({ res, query }) {
      const client = query.get('client');
      const snapshot = query.get('snapshot') === 'true';
      const request = {
        clientId: client === null ? undefined : client,
        states: statesOf(query),
        updatedAfter: undefined,
      };
      const controller = new AbortController();
      const onClose = () =>
        controller.abort(new RpcError(status.CANCELLED, 'the client went away'));
      res.on('close', onClose);
      deps.streams.add(controller);
      metrics.httpEventStreams.inc();
      let heartbeat: NodeJS.Timeout | undefined;
      const open = () => {
        if (res.headersSent) return;
        res.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-store',
          connection: 'keep-alive',
          'x-accel-buffering': 'no',
        });
        res.write('retry: 2000\n\n');
        heartbeat = setInterval(() => res.write(': heartbeat\n\n'), deps.heartbeatMs);
        heartbeat.unref();
      };
      const send = (message: WatchTransfersResponse): Promise<void> => {
        open();
        if (message.type === WatchEventType.WATCH_EVENT_TYPE_SNAPSHOT_COMPLETE)
          return write(res, 'ready', {}, controller.signal);
        if (!message.transfer) return Promise.resolve();
        metrics.streamMessages.inc({ method: 'HttpEvents' });
        return write(res, 'transfer', transferJson(message.transfer, ctx.now()), controller.signal);
      };
      try {
        await watchTransfers(
          ctx,
          request,
          { deadline: Infinity, signal: controller.signal },
          send,
          {
            snapshot,
          },
        );
      } catch (err) {
        const error = toRpcError(err);
        if (!res.headersSent || error.code === status.CANCELLED) throw err;
        const { code, message } = httpErrorOf(error);
        res.write(`event: error\ndata: ${JSON.stringify({ code, message })}\n\n`);
      } finally {
        clearInterval(heartbeat);
        res.off('close', onClose);
        deps.streams.delete(controller);
        metrics.httpEventStreams.dec();
      }
      res.end();
    },
  };
}

/** Resolves once the event is handed over, or the stream drained (or ended). */
function write(
  res: ServerResponse,
  event: string,
  data: unknown,
  signal: AbortSignal,
): Promise<void> {
  if (signal.aborted || res.destroyed) return Promise.resolve();
  if (res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)) return Promise.resolve();
  return new Promise((resolve) => {
    const resume = () => {
      res.off('drain', resume);
      signal.removeEventListener('abort', resume);
      resolve();
    };
    res.on('drain', resume);
    signal.addEventListener('abort', resume);
  });
}
