import { Server, type ServerCredentials } from '@grpc/grpc-js';
import {
  health as healthApi,
  TRANSFER_SERVICE_NAME,
  TransferServiceService,
  type TransferServiceServer,
} from '@mqft/api';
import { serverStreaming, unary, type CallDeps } from './call.js';
import { abortTransfer } from './rpc/abort-transfer.js';
import { getDownloadUrl } from './rpc/get-download-url.js';
import { getTransfer } from './rpc/get-transfer.js';
import { listTransfers } from './rpc/list-transfers.js';
import { HealthService } from './health.js';
import { ReflectionService } from './reflection.js';
import { watchTransfers } from './rpc/watch-transfers.js';

const HEALTH_SERVICE_NAME = 'grpc.health.v1.Health';
const REFLECTION_SERVICE_NAME = 'grpc.reflection.v1.ServerReflection';

/** Wiring only: the RPC functions behind the service definition, health and reflection. */
export function createGrpcServer(deps: CallDeps): { server: Server; health: HealthService } {
  const server = new Server({ 'grpc.max_receive_message_length': 1024 * 1024 });
  const transferService: TransferServiceServer = {
    getTransfer: unary('GetTransfer', getTransfer, deps),
    listTransfers: unary('ListTransfers', listTransfers, deps),
    watchTransfers: serverStreaming('WatchTransfers', watchTransfers, deps),
    abortTransfer: unary('AbortTransfer', abortTransfer, deps),
    getDownloadUrl: unary('GetDownloadUrl', getDownloadUrl, deps),
  };
  server.addService(TransferServiceService, transferService);

  // Health and reflection stay open without a token: probes and tools need them.
  const health = new HealthService(['', TRANSFER_SERVICE_NAME]);
  server.addService(healthApi.HealthService, health.implementation);
  const reflection = new ReflectionService([
    TRANSFER_SERVICE_NAME,
    HEALTH_SERVICE_NAME,
    REFLECTION_SERVICE_NAME,
  ]);
  const { v1, v1alpha } = reflection.definitions();
  server.addService(v1, reflection.implementation);
  server.addService(v1alpha, reflection.implementation);
  return { server, health };
}

export function bind(
  server: Server,
  address: string,
  credentials: ServerCredentials,
): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, credentials, (err, port) => (err ? reject(err) : resolve(port)));
  });
}
