import type { JetStreamManager, JsMsg } from '@nats-io/jetstream';
import { carriesBody, storedBodySize, type StreamCommand } from '@mqft/stream';
import type { StoredCommand } from './record/index.js';

/** A message's body was needed but the stream no longer holds the message. */
export class BodyGoneError extends Error {
  override name = 'BodyGoneError';
}

/**
 * A delivered command as the recorders see it. The consumer delivers headers only: a
 * segment's length is its Nats-Msg-Size, and the one body a recorder reads (init's filemeta)
 * comes from the Mqft-Filemeta header. Only a message whose delivery carried neither (an init
 * stored by an ingest of an earlier version) costs a direct get.
 */
export function storedCommandOf(
  msg: JsMsg,
  command: StreamCommand,
  jsm: JetStreamManager,
  stream: string,
): StoredCommand {
  const { seq, headers, data } = msg;
  return {
    seq,
    size: storedBodySize(headers, data),
    body: () => {
      if (carriesBody(headers)) return Promise.resolve(data);
      if (command.filemeta !== undefined) return Promise.resolve(command.filemeta);
      return fetchBody(jsm, stream, seq);
    },
  };
}

async function fetchBody(jsm: JetStreamManager, stream: string, seq: number): Promise<Uint8Array> {
  // A replica that has not caught up may answer a direct get (R3): ask the leader as well.
  const message =
    (await jsm.direct.getMessage(stream, { seq })) ??
    (await jsm.streams.getMessage(stream, { seq }));
  if (!message) throw new BodyGoneError(`stream message ${seq} is gone`);
  return message.data;
}
