import { status, type ServiceError } from '@grpc/grpc-js';
import { Metadata } from '@grpc/grpc-js';
import { StorageError } from '@mqft/storage';

/** A failure with the gRPC status code the caller should see. */
export class RpcError extends Error {
  override readonly name = 'RpcError';
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
  }
}

export const invalidArgument = (message: string) => new RpcError(status.INVALID_ARGUMENT, message);
export const notFound = (message: string) => new RpcError(status.NOT_FOUND, message);
export const failedPrecondition = (message: string) =>
  new RpcError(status.FAILED_PRECONDITION, message);
export const unavailable = (message: string) => new RpcError(status.UNAVAILABLE, message);
export const deadlineExceeded = (message = 'deadline exceeded') =>
  new RpcError(status.DEADLINE_EXCEEDED, message);

// Lost or refused connections to Redis or NATS (ioredis and nats.js errors by name or
// message): the caller should retry, later or on another replica, so they are UNAVAILABLE.
const UNAVAILABLE_NAMES = new Set([
  'MaxRetriesPerRequestError',
  'ClosedConnectionError',
  'DrainingConnectionError',
  'ConnectionError',
  'NoRespondersError',
  'RequestError',
  'TimeoutError',
]);
const UNAVAILABLE_MESSAGES =
  /Connection is closed|Stream isn't in writeable state|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|CLUSTERDOWN|TRYAGAIN|LOADING/;

/** The status code and message a caller sees for any error an RPC threw. */
export function toRpcError(err: unknown): RpcError {
  if (err instanceof RpcError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const name = err instanceof Error ? err.name : '';
  if (err instanceof StorageError && err.retryable)
    return unavailable(`storage is unavailable: ${message}`);
  if (UNAVAILABLE_NAMES.has(name) || UNAVAILABLE_MESSAGES.test(message)) {
    return unavailable(`a dependency is unavailable: ${message}`);
  }
  return new RpcError(status.INTERNAL, 'internal error');
}

export function toServiceError(err: RpcError): Partial<ServiceError> {
  return { code: err.code, details: err.message, metadata: new Metadata() };
}
