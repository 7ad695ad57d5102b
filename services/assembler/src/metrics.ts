import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

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
      help: 'Assembly attempts by result (complete, incomplete_waiting, incomplete, checksum_mismatch, segments_lost, already_stored, lease_lost, handed_over, retry, failed)',
      labelNames: ['result'] as const,
      registers,
    }),
    failedTransfers: new Counter({
      name: 'mqft_assembler_failed_transfers_total',
      help: 'Transfers ended failed (no retry without end), by cause (storage_refused, invalid_data, retries_exhausted, assembler_died)',
      labelNames: ['cause'] as const,
      registers,
    }),
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
    storageErrors: new Counter({
      name: 'mqft_assembler_storage_errors_total',
      help: 'Storage operations that failed',
      labelNames: ['operation'] as const,
      registers,
    }),
    consumerPending: new Gauge({
      name: 'mqft_assembler_consumer_pending',
      help: 'Messages in the stream not yet delivered to the assembler consumer (backlog)',
      registers,
    }),
    consumerAckPending: new Gauge({
      name: 'mqft_assembler_consumer_ack_pending',
      help: 'Messages delivered to assemblers and not yet acknowledged',
      registers,
    }),
  };
}

export type AssemblerMetrics = ReturnType<typeof createAssemblerMetrics>;
