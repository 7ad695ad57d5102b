import { readFileSync } from 'node:fs';
import { Metadata, credentials, status, type ServiceError } from '@grpc/grpc-js';
import {
  TransferServiceClient,
  type GetDownloadUrlResponse,
  type ListTransfersRequest,
  type ListTransfersResponse,
  type Transfer,
  type WatchTransfersRequest,
  type WatchTransfersResponse,
} from '@mqft/api';
import { ExitCode, type ExitCodeValue } from './exit-codes.js';

export interface ApiConnection {
  /** host:port of the control service. */
  address: string;
  token: string | undefined;
  tls: boolean;
  /** A PEM file of CA certificates to trust instead of the system's. */
  ca: string | undefined;
}

const CALL_TIMEOUT_MS = 15_000;

/** The control API's TransferService as promises, with the bearer token on every call. */
export class TransferApi {
  private readonly client: TransferServiceClient;
  private readonly metadata = new Metadata();

  constructor(connection: ApiConnection) {
    const creds = connection.tls
      ? credentials.createSsl(connection.ca ? readFileSync(connection.ca) : null)
      : credentials.createInsecure();
    this.client = new TransferServiceClient(connection.address, creds);
    if (connection.token) this.metadata.set('authorization', `Bearer ${connection.token}`);
  }

  async get(clientId: string, fileId: string): Promise<Transfer> {
    const response = await this.unary<{ transfer?: Transfer }>((md, opts, cb) =>
      this.client.getTransfer({ clientId, fileId }, md, opts, cb),
    );
    return response.transfer as Transfer;
  }

  list(request: ListTransfersRequest): Promise<ListTransfersResponse> {
    return this.unary((md, opts, cb) => this.client.listTransfers(request, md, opts, cb));
  }

  async abort(clientId: string, fileId: string): Promise<Transfer> {
    const response = await this.unary<{ transfer?: Transfer }>((md, opts, cb) =>
      this.client.abortTransfer({ clientId, fileId }, md, opts, cb),
    );
    return response.transfer as Transfer;
  }

  downloadUrl(clientId: string, fileId: string, ttlMs?: number): Promise<GetDownloadUrlResponse> {
    const ttl =
      ttlMs === undefined
        ? undefined
        : { seconds: Math.floor(ttlMs / 1000), nanos: (ttlMs % 1000) * 1_000_000 };
    return this.unary((md, opts, cb) =>
      this.client.getDownloadUrl({ clientId, fileId, ttl }, md, opts, cb),
    );
  }

  /** The watch stream; `onMessage` for each message; resolves when it ends or is cancelled. */
  watch(
    request: WatchTransfersRequest,
    onMessage: (message: WatchTransfersResponse) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const call = this.client.watchTransfers(request, this.metadata);
    return new Promise((resolve, reject) => {
      signal.addEventListener('abort', () => call.cancel(), { once: true });
      call.on('data', onMessage);
      call.on('end', () => resolve());
      call.on('error', (err: ServiceError) => {
        if (err.code === status.CANCELLED && signal.aborted) resolve();
        else reject(err);
      });
    });
  }

  close(): void {
    this.client.close();
  }

  private unary<T>(
    call: (
      metadata: Metadata,
      options: { deadline: number },
      callback: (error: ServiceError | null, response: T) => void,
    ) => void,
  ): Promise<T> {
    return new Promise((resolve, reject) => {
      call(this.metadata, { deadline: Date.now() + CALL_TIMEOUT_MS }, (error, response) =>
        error ? reject(error) : resolve(response),
      );
    });
  }
}

/** The exit code for a failed call (docs/cli.md). */
export function exitCodeOfApiError(err: unknown): ExitCodeValue {
  const code = (err as Partial<ServiceError>).code;
  switch (code) {
    case status.UNAVAILABLE:
    case status.DEADLINE_EXCEEDED:
      return ExitCode.Connection;
    case status.NOT_FOUND:
      return ExitCode.Rejected;
    case status.FAILED_PRECONDITION:
      return ExitCode.Precondition;
    case status.UNAUTHENTICATED:
    case status.PERMISSION_DENIED:
      return ExitCode.Unauthorized;
    case status.INVALID_ARGUMENT:
      return ExitCode.Usage;
    default:
      return ExitCode.Error;
  }
}

export function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number';
}
