import { sleep, type Logger } from '@mqft/config';
import { outcomeId, publishOutcome, type OutcomeKind, type TransferOutcome } from '@mqft/stream';
import type { TransferRecord } from '@mqft/state';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { AssemblerMetrics } from './metrics.js';

/** Stores transfer outcomes durably (docs/events.md); throws when it could not. */
export interface OutcomeStore {
  publish(outcome: TransferOutcome): Promise<void>;
}

/** Delays before each try of one publish: JetStream's leader election or a reconnect passes. */
const TRY_DELAYS_MS = [0, 200, 500, 1000, 2000] as const;

/** The outcome stream through JetStream, with acks: at least once, deduplicated by id. */
export function createOutcomeStore(
  js: JetStreamClient,
  stream: string,
  metrics: AssemblerMetrics,
  logger: Logger,
): OutcomeStore {
  return {
    async publish(outcome) {
      let lastError: unknown;
      for (const delay of TRY_DELAYS_MS) {
        await sleep(delay);
        try {
          const { duplicate } = await publishOutcome(js, stream, outcome);
          metrics.outcomes.inc({
            kind: outcome.kind,
            outcome: duplicate ? 'duplicate' : 'published',
          });
          logger.debug({ key: outcome.key, id: outcome.id, duplicate }, 'outcome stored');
          return;
        } catch (err) {
          lastError = err;
        }
      }
      metrics.outcomes.inc({ kind: outcome.kind, outcome: 'failed' });
      throw lastError;
    },
  };
}

/** A transfer's outcome of `kind`, from its record (the id derives from its creation time). */
export function outcomeOf(
  kind: OutcomeKind,
  record: TransferRecord,
  fields: Partial<Omit<TransferOutcome, 'id' | 'kind' | 'key'>> = {},
): TransferOutcome {
  const createdAt = record.createdAt ?? record.completedAt ?? record.updatedAt ?? 0;
  const outcome: TransferOutcome = {
    id: outcomeId(kind, record.key, createdAt),
    kind,
    key: record.key,
    clientId: record.clientId,
    fileId: record.fileId,
    at: record.updatedAt ?? Date.now(),
    ...fields,
  };
  if (record.name !== undefined) outcome.name = record.name;
  const filemeta = parseJson(record.filemeta);
  if (filemeta !== undefined) outcome.filemeta = filemeta;
  return outcome;
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined || text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
