import type { Logger } from '@mqft/config';
import type { StorageBackend } from '@mqft/storage';
import type { ReplyTo } from '@mqft/stream';
import type {
  ClientQuotas,
  Lease,
  SegmentLocation,
  TransferRecord,
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
   * Room for a small file's assembly that its fin's script leases (record/fin.ts). Absent
   * where fins only record (the replay of the stream, tests): then requestAssembly.
   */
  assemblyAtFin?: AssemblyAtFin | undefined;
  /**
   * Whether the cluster is behind (inits of new transfers then get 0x97 busy). Absent where
   * nobody may be refused: the replay of the stream after Redis lost its data.
   */
  loadGate?: LoadGate | undefined;
}

/** A transfer whose assembly lease the fin's script took, with what that script read. */
export interface LeasedAtFin {
  lease: Lease;
  /** Holders before this one that died while assembling it. */
  deaths: number;
  record: TransferRecord;
  /** Its segment index in offset order, when the script listed it (few segments). */
  segments?: SegmentLocation[] | undefined;
  /** The stream sequence of the fin that leased it (purged with the segments, unlooked-for). */
  finSeq: number;
}

/** Reserves, before a fin is recorded, the room its assembly needs in this process. */
export interface AssemblyAtFin {
  /** Room for a file of `size` bytes now (only small ones), or undefined. */
  reserve(key: string, size: number): AtFinReservation | undefined;
}

export interface AtFinReservation {
  /** Assembles in the background; the room goes back when it ends. */
  run(leased: LeasedAtFin): void;
  /** The fin did not lease the transfer: the room goes back (nothing once run() was called). */
  cancel(): void;
}
