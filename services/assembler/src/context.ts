import type { Logger } from '@mqft/config';
import type { StorageBackend } from '@mqft/storage';
import type { ReplyTo } from '@mqft/stream';
import type {
  ClientQuotas,
  CreatedIndexes,
  DueIndex,
  RebuildLock,
  RetentionIndex,
  StateEpoch,
  TransferStore,
} from '@mqft/state';
import type { JetStreamManager } from '@nats-io/jetstream';
import type { AssemblerConfig } from './config.js';
import type { EventPublisher } from './events.js';
import type { LoadGate } from './load-gate.js';
import type { OutcomeStore } from './outcomes.js';
import type { AssemblerMetrics } from './metrics.js';
import type { Purger } from './purger.js';
import type { FinResult } from './results.js';

/** Answers a device (docs/protocol.md "Results"); never throws. */
export type ResultSender = (key: string, reply: ReplyTo, result: FinResult) => Promise<void>;

/** What the recording handlers and the assembly need; built once in assembler.ts. */
export interface AssemblerContext {
  config: AssemblerConfig;
  /** One transfer's state. */
  store: TransferStore;
  /** When transfers need a look (fin grace, lease watchdog, retries). */
  due: DueIndex;
  quotas: ClientQuotas;
  /** The created indexes the API lists from. */
  indexes: CreatedIndexes;
  /** Whether Redis holds every transfer, and the lock of the one assembler rebuilding it. */
  epoch: StateEpoch;
  rebuildLock: RebuildLock;
  jsm: JetStreamManager;
  storage: StorageBackend;
  sendResult: ResultSender;
  events: EventPublisher;
  /** Stores transfer outcomes for backends (the outcome stream, docs/events.md). */
  outcomes: OutcomeStore;
  /** When stored files go (MQFT_RETENTION_*). */
  retention: RetentionIndex;
  metrics: AssemblerMetrics;
  logger: Logger;
  /** Purges complete transfers' segments; this assembler's own (no state shared between two). */
  purger: Purger;
  /** This process's lease owner id. */
  owner: string;
  /** Asks for an assembly of a transfer whose facts are all present. */
  requestAssembly: (key: string) => void;
  /**
   * Progressive assembly before fin (progressive.ts); absent: off (recordSegment never offers).
   * `offer`: recordSegment found a transfer that wants it; `wake`: a segment of the transfer
   * was recorded here (its holder, if here, looks at once).
   */
  progressive?: { offer: (key: string) => void; wake: (key: string) => boolean } | undefined;
  /**
   * Whether the cluster is behind (inits of new transfers then get 0x97 busy). Absent where
   * nobody may be refused: the replay of the stream after Redis lost its data.
   */
  loadGate?: LoadGate | undefined;
}
