import type { JetStreamManager } from '@nats-io/jetstream';

/** Deletes in flight at once. */
const DELETE_WINDOW = 32;

/**
 * Removes the messages of one subject (those with a sequence below `below`, if given) by
 * deleting them one by one — NOT with a subject-filtered purge. `known` are sequences of the
 * subject the caller knows (a transfer's segments): deleted without being looked up, so the
 * walk over the subject only meets the rest (init, fins, late copies).
 *
 * nats-server 2.9 (what docs/design.md runs) mishandles a filtered purge in its consumers:
 * `$JS.API.STREAM.PURGE` with `filter` moves every consumer's ack floor up to the purged
 * sequence and drops ALL its pending acks, of every subject. A command another replica had
 * pulled but not yet acked is then never redelivered: when that replica dies (kill -9), the
 * command is lost for good (found by test/chaos, assembler-kill; reproduced on 2.9.10:
 * 10 delivered-unacked messages of subject b, purge with filter a, 0 redelivered). Deleting
 * single messages leaves the consumers' pending acks alone.
 */
export async function purgeSubject(
  jsm: JetStreamManager,
  stream: string,
  subject: string,
  below = Number.MAX_SAFE_INTEGER,
  known: readonly number[] = [],
  /**
   * Whether the walk's end is confirmed by the stream leader (see below). Only a replicated
   * stream needs it: on a stream of one replica every direct get is the leader's answer.
   */
  confirmWithLeader = true,
): Promise<number> {
  const first = known.filter((seq) => seq < below);
  await deleteAll(jsm, stream, first);
  const seqs: number[] = [];
  let from = 1;
  // Direct gets are fast but any replica may answer one, and a replica that lags behind the
  // leader (R3 streams, more so after a leader change) ends the walk early: it has not stored
  // the newest messages yet. So the walk ends only when the leader, too, has nothing more (one
  // request to the leader per purge).
  for (let leader = !confirmWithLeader; ;) {
    const request = { seq: from, next_by_subj: subject };
    const msg =
      leader && confirmWithLeader
        ? await jsm.streams.getMessage(stream, request)
        : await jsm.direct.getMessage(stream, request);
    if (msg !== null && msg.seq < below) {
      seqs.push(msg.seq);
      from = msg.seq + 1;
    } else if (leader || msg !== null) {
      break;
    } else {
      leader = true;
    }
  }
  await deleteAll(jsm, stream, seqs);
  return first.length + seqs.length;
}

/**
 * Deletes what is still stored on `subjects` although they were purged: nats-server 2.9.10
 * kept (or brought back) a deleted message about once in ten chaos runs — a transfer's own fin
 * or a segment copy, after its delete was acknowledged (test/chaos soak; not reproduced in
 * isolation). Its count for the literal subject said 0 then, while a wildcard filter counted
 * the message and a consumer over the subject delivered it. So one stream info over
 * `wildcard` (the stream's command subjects) tells which of `subjects` still hold messages,
 * and a short-lived consumer finds them. Returns the messages deleted per subject.
 */
export async function purgeLeftovers(
  jsm: JetStreamManager,
  stream: string,
  wildcard: string,
  subjects: readonly string[],
): Promise<Map<string, number>> {
  const deleted = new Map<string, number>();
  if (subjects.length === 0) return deleted;
  const info = await jsm.streams.info(stream, { subjects_filter: wildcard });
  const counts = info.state.subjects ?? {};
  for (const subject of subjects) {
    const left = counts[subject] ?? 0;
    if (left === 0) continue;
    const seqs = await storedSequences(jsm, stream, subject, left);
    await deleteAll(jsm, stream, seqs);
    deleted.set(subject, seqs.length);
  }
  return deleted;
}

/** Up to `count` sequences stored on `subject`, read by a short-lived consumer. */
async function storedSequences(
  jsm: JetStreamManager,
  stream: string,
  subject: string,
  count: number,
): Promise<number[]> {
  const consumer = await jsm.jetstream().consumers.get(stream, { filter_subjects: subject });
  const seqs: number[] = [];
  try {
    const batch = await consumer.fetch({ max_messages: count, expires: 2_000 });
    for await (const msg of batch) {
      seqs.push(msg.seq);
      if (msg.info.pending === 0) break;
    }
  } finally {
    await consumer.delete().catch(() => undefined);
  }
  return seqs;
}

/**
 * Deletes one stream message (without erasing its bytes); a message that is gone already
 * (another replica's purge, max_age) counts as deleted. Throws when the stream did not answer.
 */
export async function deleteStreamMessage(
  jsm: JetStreamManager,
  stream: string,
  seq: number,
): Promise<void> {
  await jsm.streams.deleteMessage(stream, seq, false).catch((err: unknown) => {
    if (/no message found|not found/i.test(String(err))) return false;
    throw err;
  });
}

async function deleteAll(
  jsm: JetStreamManager,
  stream: string,
  seqs: readonly number[],
): Promise<void> {
  for (let i = 0; i < seqs.length; i += DELETE_WINDOW) {
    await Promise.all(
      seqs.slice(i, i + DELETE_WINDOW).map((seq) => deleteStreamMessage(jsm, stream, seq)),
    );
  }
}
