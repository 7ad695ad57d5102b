import { status, type ServerWritableStream } from '@grpc/grpc-js';
import { health } from '@mqft/api';

const { HealthCheckResponse_ServingStatus: ServingStatus } = health;
type ServingStatus = health.HealthCheckResponse_ServingStatus;
type WatchCall = ServerWritableStream<health.HealthCheckRequest, health.HealthCheckResponse>;

/**
 * grpc.health.v1.Health from the generated code (bundle-safe: no proto files read at run
 * time). Check answers NOT_FOUND for an unknown service; Watch sends the current status and
 * then every change (SERVICE_UNKNOWN for an unknown service), as the protocol says.
 *
 * Why not `grpc-health-check` (2.1.0, checked 2026-12): its HealthImplementation has the same
 * Check/Watch/List with per-service status, but
 * - importing it loads `health/v1/health.proto` through @grpc/proto-loader from
 *   `${__dirname}/../../proto`. control runs as one ESM bundle from dist/ alone
 *   (scripts/build.mjs, deploy/Dockerfile, test/ops/image-layout.int.test.ts): there
 *   `__dirname` is not defined (a bundle built with build.mjs's settings stops at start-up
 *   with "ReferenceError: __dirname is not defined in ES module scope"), and no .proto file
 *   is beside it either;
 * - it cannot end open Watch calls, so a stop would wait out the whole MQFT_SHUTDOWN_GRACE
 *   for every client that watches health (`close()` below ends them), and it writes a
 *   status to watchers even when it did not change.
 */
export class HealthService {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly watches = new Set<WatchCall>();

  constructor(services: readonly string[]) {
    for (const service of services) this.statuses.set(service, ServingStatus.NOT_SERVING);
  }

  set(service: string, serving: boolean): void {
    const next = serving ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
    if (this.statuses.get(service) === next) return;
    this.statuses.set(service, next);
    for (const call of this.watches)
      if (call.request.service === service) call.write({ status: next });
  }

  /** Ends every Watch, so that the server can shut down. */
  close(): void {
    for (const call of this.watches) call.end();
    this.watches.clear();
  }

  readonly implementation: health.HealthServer = {
    check: (call, callback) => {
      const current = this.statuses.get(call.request.service);
      if (current === undefined) {
        callback({ code: status.NOT_FOUND, details: `unknown service ${call.request.service}` });
      } else {
        callback(null, { status: current });
      }
    },
    list: (_call, callback) => {
      const statuses: Record<string, health.HealthCheckResponse> = {};
      for (const [service, current] of this.statuses) statuses[service] = { status: current };
      callback(null, { statuses });
    },
    watch: (call: WatchCall) => {
      this.watches.add(call);
      call.on('cancelled', () => this.watches.delete(call));
      call.write({
        status: this.statuses.get(call.request.service) ?? ServingStatus.SERVICE_UNKNOWN,
      });
    },
  };
}
