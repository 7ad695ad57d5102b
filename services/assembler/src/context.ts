import type { Logger } from '@mqft/config';
import type { StorageBackend } from '@mqft/storage';
import type { ReplyTo } from '@mqft/stream';
import type {
  ClientQuotas,
  CreatedIndexes,
  DueIndex,
  RebuildLock,
  StateEpoch,
  TransferStore,
} from '@mqft/state';
import type { JetStreamManager } from '@nats-io/jetstream';
import type { AssemblerConfig } from './config.js';
import type { EventPublisher } from './events.js';
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
  metrics: AssemblerMetrics;
  logger: Logger;
  /** Purges complete transfers' segments; this assembler's own (no state shared between two). */
  purger: Purger;
  /** This process's lease owner id. */
  owner: string;
  /** Asks for an assembly of a transfer whose facts are all present. */
  requestAssembly: (key: string) => void;
}
