import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { OUTCOME_KINDS, type OutcomeKind } from '@mqft/stream';

/** The values of the assemblies counter's `result` label (docs/operations.md lists them). */
export const ASSEMBLY_RESULTS = [
  'complete',
  'already_stored',
  'incomplete_waiting',
  'incomplete',
  'checksum_mismatch',
  'segments_lost',
  'lease_lost',
  'handed_over',
  'retry',
  'failed',
] as const;
export type AssemblyResult = (typeof ASSEMBLY_RESULTS)[number];

/**
 * The values of the failed transfers counter's `cause` label: why a transfer ended failed
 * (docs/protocol.md "Failed transfers"), also kept as the record's `failCause`.
 * - storage_refused: storage refuses this object for good (its key, its metadata);
 * - invalid_data: the transfer's own data cannot be processed (a RangeError: a device's
 *   metadata nested too deep to serialise, say);
 * - retries_exhausted: MQFT_ASSEMBLY_MAX_ATTEMPTS attempts failed (storage or NATS unavailable);
 * - assembler_died: MQFT_ASSEMBLY_MAX_DEATHS holders lost the lease while assembling it.
 */
export const FAILURE_CAUSES = [
  'storage_refused',
  'invalid_data',
  'retries_exhausted',
  'assembler_died',
  'too_many_segments',
] as const;
export type FailureCause = (typeof FAILURE_CAUSES)[number];

/**
 * How a progressive assembly ended (docs/operations.md): `finished` (fin came, [0, size) was
 * written: the assembly's tail ran, counted in the assemblies counter), `idle` (the prefix did
 * not grow for MQFT_PROGRESSIVE_IDLE), `stopped` (the transfer was aborted, failed or taken by
 * a normal assembly), `lease_lost`, `handed_over` (shutdown), `error` (storage or NATS: its
 * fin's normal assembly does the work from zero), `restarts` (started over
 * PROGRESSIVE_MAX_RESTARTS times: not offered again; its fin's normal assembly does the work).
 */
export const PROGRESSIVE_ENDS = [
  'finished',
  'idle',
  'restarts',
  'stopped',
  'lease_lost',
  'handed_over',
  'error',
] as const;
export type ProgressiveEnd = (typeof PROGRESSIVE_ENDS)[number];

/** The values of the storage errors counter's `operation` label. */
export const STORAGE_ERROR_OPERATIONS = ['storage', 'verify', 'other'] as const;
export type StorageErrorOperation = (typeof STORAGE_ERROR_OPERATIONS)[number];

/** A counter whose label values, not only its label names, the compiler checks. */
type CounterOf<Labels extends Record<string, string>> = Omit<
  Counter<Extract<keyof Labels, string>>,
  'inc'
> & { inc(labels: Labels, value?: number): void };

/** The assembler's metrics; labels are bounded (kinds, outcomes, reasons), never ids. */
export function createAssemblerMetrics(registry: Registry) {
  const registers = [registry];
  return {
    commands: new Counter({
      name: 'mqft_assembler_commands_total',
      help: 'Stream commands recorded, by kind and outcome',
      labelNames: ['kind', 'outcome'] as const,
      registers,
    }),
    recordSeconds: new Histogram({
      name: 'mqft_assembler_record_seconds',
      help: 'Time to record one command in Redis (script round trip included)',
      labelNames: ['kind'] as const,
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    }),
    assemblies: new Counter({
      name: 'mqft_assembler_assemblies_total',
      help: `Assembly attempts by result (${ASSEMBLY_RESULTS.join(', ')})`,
      labelNames: ['result'] as const,
      registers,
    }) as CounterOf<{ result: AssemblyResult }>,
    failedTransfers: new Counter({
      name: 'mqft_assembler_failed_transfers_total',
      help: `Transfers ended failed (no retry without end), by cause (${FAILURE_CAUSES.join(', ')})`,
      labelNames: ['cause'] as const,
      registers,
    }) as CounterOf<{ cause: FailureCause }>,
    assemblySeconds: new Histogram({
      name: 'mqft_assembler_assembly_seconds',
      help: 'Duration of successful assemblies',
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 180, 600],
      registers,
    }),
    assembledBytes: new Counter({
      name: 'mqft_assembler_assembled_bytes_total',
      help: 'Bytes written to storage by completed assemblies',
      registers,
    }),
    activeAssemblies: new Gauge({
      name: 'mqft_assembler_active_assemblies',
      help: 'Assemblies running in this process',
      registers,
    }),
    progressiveActive: new Gauge({
      name: 'mqft_assembler_progressive_active',
      help: 'Progressive assemblies (before fin) running in this process',
      registers,
    }),
    progressiveEnds: new Counter({
      name: 'mqft_assembler_progressive_total',
      help: `Progressive assemblies by how they ended (${PROGRESSIVE_ENDS.join(', ')})`,
      labelNames: ['end'] as const,
      registers,
    }) as CounterOf<{ end: ProgressiveEnd }>,
    progressiveRestarts: new Counter({
      name: 'mqft_assembler_progressive_restarts_total',
      help: 'Progressive assemblies started over from zero (a written segment replaced or overlapped, the size changed)',
      registers,
    }),
    storageErrors: new Counter({
      name: 'mqft_assembler_storage_errors_total',
      help: `Storage operations that failed (${STORAGE_ERROR_OPERATIONS.join(', ')})`,
      labelNames: ['operation'] as const,
      registers,
    }) as CounterOf<{ operation: StorageErrorOperation }>,
    consumerPending: new Gauge({
      name: 'mqft_assembler_consumer_pending',
      help: 'Messages in the stream not yet delivered to the assembler consumer (backlog)',
      registers,
    }),
    busy: new Counter({
      name: 'mqft_assembler_busy_total',
      help: 'Inits of new transfers answered 0x97 busy because the cluster is behind, by cause (stream_fill, backlog, due_age, storage_errors)',
      labelNames: ['cause'] as const,
      registers,
    }),
    shedding: new Gauge({
      name: 'mqft_assembler_shedding',
      help: '1 while this assembler answers inits of new transfers 0x97 busy (the cluster is behind), else 0',
      registers,
    }),
    consumerAckPending: new Gauge({
      name: 'mqft_assembler_consumer_ack_pending',
      help: 'Messages delivered to assemblers and not yet acknowledged',
      registers,
    }),
    outcomes: new Counter({
      name: 'mqft_assembler_outcomes_total',
      help: `Transfer outcomes stored in the outcome stream, by kind (${OUTCOME_KINDS.join(', ')}) and outcome (published, duplicate, failed)`,
      labelNames: ['kind', 'outcome'] as const,
      registers,
    }) as CounterOf<{ kind: OutcomeKind; outcome: 'published' | 'duplicate' | 'failed' }>,
    expiredFiles: new Counter({
      name: 'mqft_assembler_expired_files_total',
      help: 'Stored files retention deleted (MQFT_RETENTION_ENABLED)',
      registers,
    }),
    expiredBytes: new Counter({
      name: 'mqft_assembler_expired_bytes_total',
      help: 'Bytes of the stored files retention deleted',
      registers,
    }),
  };
}

export type AssemblerMetrics = ReturnType<typeof createAssemblerMetrics>;
