import { credentials } from '@grpc/grpc-js';
import { TransferServiceClient } from '@mqft/api';
import type { MqftStack } from '@mqft/test-support';

/** A unary RPC of the generated client as a promise. */
export function call<Res>(
  invoke: (done: (err: Error | null, res: Res) => void) => unknown,
): Promise<Res> {
  return new Promise((resolve, reject) => invoke((err, res) => (err ? reject(err) : resolve(res))));
}

/** A gRPC client of the stack's control (started with `control: true`), without TLS or token. */
export function stackApiClient(stack: MqftStack): TransferServiceClient {
  const address = stack.env['MQFT_GRPC_ADDR'];
  if (address === undefined) throw new Error('the stack runs no control (control: true)');
  return new TransferServiceClient(address, credentials.createInsecure());
}
