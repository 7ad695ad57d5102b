import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { ResultContent, ResultPublisher, ResultTarget } from '@mqft/mqtt';
import { transferKey } from '@mqft/protocol';
import { createMessageHandler } from '../src/handle-message.js';
import type { StreamMessage } from '../src/handlers/index.js';
import { createIngestMetrics } from '../src/metrics.js';
import { StreamUnavailableError, type StreamPublisher } from '../src/publisher.js';
import { maxPartBytes } from '../src/segments.js';

type Event = ['stored', StreamMessage[]] | ['result', ResultTarget, ResultContent];

/** The handler with a stream and a broker that only record what happens, in order. */
function harness(storeOutcome: () => Promise<void> = async () => undefined) {
  const events: Event[] = [];
  const publisher: StreamPublisher = {
    publish: () => Promise.reject(new Error('unused')),
    publishAll: async (messages) => {
      await storeOutcome();
      events.push(['stored', [...messages]]);
      return [];
    },
  };
  const results: ResultPublisher = {
    publish: async (target, content) => {
      events.push(['result', target, content]);
      return 'published';
    },
  };
  const registry = new Registry();
  const handle = createMessageHandler({
    decode: { layout: 'emqx', prefix: 'mqft/in/' },
    limits: {
      maxFileSize: 1_000_000,
      maxSegmentSize: 100_000,
      maxFilemetaBytes: 16 * 1024,
      maxFilemetaDepth: 16,
    },
    maxPayload: () => 64 * 1024,
    publisher,
    results,
    metrics: createIngestMetrics(registry, () => 0),
    logger: pino({ level: 'silent' }),
    pendingResults: new Set(),
  });
  const props = { userProperties: { clientid: 'dev-1' } };
  return { events, handle, props, registry };
}

describe('message handling', () => {
  it('answers a segment only after every part was stored', async () => {
    const { events, handle, props } = harness();
    await handle('mqft/in/$file/f/0', new Uint8Array(75_000), props);
    await Promise.resolve();
    expect(events.map((e) => e[0])).toEqual(['stored', 'result']);
    const [, stored] = events[0] as ['stored', StreamMessage[]];
    const partBytes = maxPartBytes(64 * 1024, transferKey({ clientId: 'dev-1', fileId: 'f' }));
    expect(stored.map((m) => m.command.offset)).toEqual([0, partBytes]);
    expect(events[1]?.[2]).toEqual({ reason: 'success' });
  });

  it('leaves init, fin and abort to the assembler', async () => {
    const { events, handle, props } = harness();
    await handle('mqft/in/$file/f/init', Buffer.from('{"name":"n"}'), props);
    await handle('mqft/in/$file/f/fin/10', new Uint8Array(0), props);
    await handle('mqft/in/$file/f/abort', new Uint8Array(0), props);
    expect(events.map((e) => e[0])).toEqual(['stored', 'stored', 'stored']);
  });

  it('handles a QoS 0 command like QoS 1, answers it, and counts it', async () => {
    const { events, handle, props, registry } = harness();
    await handle('mqft/in/$file/f/0', Buffer.from('abc'), props, 0);
    await handle('mqft/in/$file/f/what', Buffer.from(''), props, 0);
    await handle('mqft/in/$file/f/3', Buffer.from('def'), props, 1);
    await Promise.resolve();
    expect(events.map((e) => (e[0] === 'result' ? e[2].reason : e[0]))).toEqual([
      'stored',
      'success',
      'invalid_file_command',
      'stored',
      'success',
    ]);
    const metrics = await registry.metrics();
    expect(metrics).toMatch(/mqft_ingest_qos0_commands_total\{kind="segment"\} 1/);
    expect(metrics).toMatch(/mqft_ingest_qos0_commands_total\{kind="unknown"\} 1/);
  });

  it('answers unavailable (and stores nothing) when JetStream does not ack', async () => {
    const { events, handle, props, registry } = harness(() =>
      Promise.reject(new StreamUnavailableError('no ack', false)),
    );
    await handle('mqft/in/$file/f/0', Buffer.from('abc'), props);
    expect(events).toEqual([
      ['result', expect.objectContaining({ clientId: 'dev-1' }), { reason: 'unavailable' }],
    ]);
    expect(await registry.metrics()).toMatch(
      /mqft_ingest_commands_total\{kind="segment",reason="unavailable"\} 1/,
    );
  });

  it('cancels a command JetStream can never take', async () => {
    const { events, handle, props } = harness(() =>
      Promise.reject(new StreamUnavailableError('too large', true)),
    );
    await handle('mqft/in/$file/f/init', Buffer.from('{"name":"n"}'), props);
    expect(events[0]?.[2]).toEqual({ reason: 'invalid_file_command' });
  });

  it('answers unavailable instead of wedging the connection on an unexpected error', async () => {
    const { events, handle, props } = harness(() => Promise.reject(new TypeError('bug')));
    await handle('mqft/in/$file/f/abort', new Uint8Array(0), props);
    expect(events[0]?.[2]).toEqual({ reason: 'unavailable' });
  });

  it('answers a broken command at once, to whoever can be named', async () => {
    const { events, handle } = harness();
    await handle('mqft/in/$file/f/zz', new Uint8Array(0), { responseTopic: 'r/1' });
    expect(events).toEqual([
      [
        'result',
        {
          reply: { deviceTopic: '$file/f/zz', responseTopic: 'r/1' },
          clientId: '\u0000',
          anonymous: true,
        },
        { reason: 'invalid_file_command' },
      ],
    ]);
  });
});
