import {
  status,
  type handleServerStreamingCall,
  type handleUnaryCall,
  type Metadata,
  type ServerUnaryCall,
  type ServerWritableStream,
} from '@grpc/grpc-js';
import type { CallScope, ControlContext } from './context.js';
import type { TokenAuthenticator } from './auth.js';
import { deadlineExceeded, RpcError, toRpcError, toServiceError } from './errors.js';
import type { ControlMetrics } from './metrics.js';

/** What the call wrappers need besides the RPC functions. */
export interface CallDeps {
  ctx: ControlContext;
  auth: TokenAuthenticator;
  metrics: ControlMetrics;
  /** Cancels every open watch (shutdown, NATS lost) with the given status. */
  watches: Set<AbortController>;
}

type UnaryRpc<Req, Res> = (ctx: ControlContext, request: Req, scope: CallScope) => Promise<Res>;
type StreamingRpc<Req, Res> = (
  ctx: ControlContext,
  request: Req,
  scope: CallScope,
  send: (message: Res) => Promise<void>,
) => Promise<void>;

/**
 * A unary RPC function as a grpc-js handler: bearer-token check, deadline, status mapping,
 * metrics and a log line for unexpected errors.
 */
export function unary<Req, Res>(
  method: string,
  rpc: UnaryRpc<Req, Res>,
  deps: CallDeps,
): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const done = observe(method, deps);
    const scope = scopeOf(call);
    authenticate(deps, call.metadata)
      .then(() => withDeadline(rpc(deps.ctx, call.request, scope), scope.deadline))
      .then(
        (response) => {
          done(status.OK);
          callback(null, response);
        },
        (err: unknown) => {
          const error = report(method, err, deps);
          done(error.code);
          callback(toServiceError(error));
        },
      );
  };
}

/** A server-streaming RPC function as a grpc-js handler, with back-pressure on send. */
export function serverStreaming<Req, Res>(
  method: string,
  rpc: StreamingRpc<Req, Res>,
  deps: CallDeps,
): handleServerStreamingCall<Req, Res> {
  return (call) => {
    const done = observe(method, deps);
    const controller = new AbortController();
    const scope = scopeOf(call, controller);
    deps.watches.add(controller);
    deps.metrics.watchStreams.inc();
    const finish = (err?: unknown) => {
      deps.watches.delete(controller);
      deps.metrics.watchStreams.dec();
      if (call.cancelled) return done(status.CANCELLED); // the call has ended already
      const reason: unknown = controller.signal.aborted ? controller.signal.reason : undefined;
      const error =
        err !== undefined
          ? report(method, err, deps)
          : reason instanceof RpcError
            ? reason
            : undefined;
      if (error === undefined) {
        done(status.OK);
        call.end();
      } else {
        done(error.code);
        call.emit('error', toServiceError(error));
      }
    };
    authenticate(deps, call.metadata)
      .then(() =>
        rpc(deps.ctx, call.request, scope, (message) => {
          deps.metrics.streamMessages.inc({ method });
          return write(call, message, controller.signal);
        }),
      )
      .then(
        () => finish(),
        (err: unknown) => finish(err),
      );
  };
}

// eslint-disable-next-line @typescript-eslint/require-await -- async: a refusal rejects the call's chain
async function authenticate(deps: CallDeps, metadata: Metadata): Promise<void> {
  if (!deps.auth.authenticate(metadata)) {
    throw new RpcError(
      status.UNAUTHENTICATED,
      'a valid "authorization: Bearer <token>" is required',
    );
  }
}

/** The call's deadline and a signal that fires when the client cancels (or the server aborts). */
function scopeOf(
  call: ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>,
  controller = new AbortController(),
): CallScope {
  const deadline = call.getDeadline();
  const ms = deadline instanceof Date ? deadline.getTime() : Number(deadline);
  call.on('cancelled', () =>
    controller.abort(new RpcError(status.CANCELLED, 'cancelled by the client')),
  );
  return { deadline: Number.isFinite(ms) ? ms : Infinity, signal: controller.signal };
}

/** Resolves once the message is handed over, or the stream is flowing again. */
function write<Res>(
  call: ServerWritableStream<unknown, Res>,
  message: Res,
  signal: AbortSignal,
): Promise<void> {
  if (signal.aborted || call.cancelled) return Promise.resolve();
  if (call.write(message)) return Promise.resolve();
  return new Promise((resolve) => {
    const resume = () => {
      call.off('drain', resume);
      signal.removeEventListener('abort', resume);
      resolve();
    };
    call.on('drain', resume);
    signal.addEventListener('abort', resume);
  });
}

function withDeadline<T>(work: Promise<T>, deadline: number): Promise<T> {
  if (!Number.isFinite(deadline)) return work;
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(deadlineExceeded()), Math.max(0, deadline - Date.now()));
  });
  return Promise.race([work, expiry]).finally(() => clearTimeout(timer));
}

function observe(method: string, deps: CallDeps): (code: status) => void {
  const stopTimer = deps.metrics.rpcSeconds.startTimer({ method });
  return (code) => {
    stopTimer();
    deps.metrics.rpcs.inc({ method, code: status[code] ?? String(code) });
  };
}

function report(method: string, err: unknown, deps: CallDeps): RpcError {
  const error = toRpcError(err);
  if (error.code === status.INTERNAL) deps.ctx.logger.error({ err, method }, 'RPC failed');
  else if (error.code === status.UNAVAILABLE)
    deps.ctx.logger.warn({ method, reason: error.message }, 'RPC failed: dependency unavailable');
  return error;
}
