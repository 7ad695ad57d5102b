import { status } from '@grpc/grpc-js';
import type { RpcError } from '../errors.js';

/**
 * A failure as the HTTP API answers it: a status and an EMQX-style body `{code, message}`
 * (`code` an upper-case name such as BAD_REQUEST, as EMQX's /api/v5 errors are).
 */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const badRequest = (message: string) => new HttpError(400, 'BAD_REQUEST', message);
export const unauthorized = (message: string) => new HttpError(401, 'UNAUTHORIZED', message);
export const notFound = (message: string, code = 'NOT_FOUND') => new HttpError(404, code, message);

/** The HTTP answer to an RPC function's failure: one table for every route. */
const HTTP_OF: Partial<Record<status, [number, string]>> = {
  [status.INVALID_ARGUMENT]: [400, 'BAD_REQUEST'],
  [status.UNAUTHENTICATED]: [401, 'UNAUTHORIZED'],
  [status.NOT_FOUND]: [404, 'NOT_FOUND'],
  [status.FAILED_PRECONDITION]: [409, 'CONFLICT'],
  [status.CANCELLED]: [499, 'CANCELLED'],
  [status.UNAVAILABLE]: [503, 'SERVICE_UNAVAILABLE'],
  [status.DEADLINE_EXCEEDED]: [504, 'DEADLINE_EXCEEDED'],
};

export function httpErrorOf(err: RpcError): HttpError {
  const [code, name] = HTTP_OF[err.code] ?? [500, 'INTERNAL_ERROR'];
  return new HttpError(code, name, err.message);
}
