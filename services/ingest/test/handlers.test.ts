import { describe, expect, it } from 'vitest';
import { ANONYMOUS_CLIENT_ID, sha256Hex, transferKey } from '@mqft/protocol';
import { HANDLERS, planCommand, type HandlerLimits, type Plan } from '../src/handlers/index.js';
import { decodeMessage, MAX_KEY_LENGTH, type CommandProperties } from '../src/message.js';

const emqx = { layout: 'emqx' as const, prefix: 'mqft/in/' };
const limits: HandlerLimits = {
  maxFileSize: 10_000,
  maxSegmentSize: 4_000,
  maxPartBytes: 1_500,
  maxFilemetaBytes: 16 * 1024,
  maxFilemetaDepth: 16,
};
const dev = (clientid: string, extra: CommandProperties = {}): CommandProperties => ({
  userProperties: { clientid },
  ...extra,
});

/** decode + plan, as ingest does for one message. */
function plan(
  topic: string,
  payload: Uint8Array,
  properties: CommandProperties = dev('dev-1'),
): Plan {
  const decoded = decodeMessage(topic, properties, emqx);
  if (!decoded.ok) throw new Error(`did not decode: ${decoded.error.reason}`);
  const { command, key, reply } = decoded;
  return planCommand({ command, payload, key, reply }, limits);
}

const reasonOf = (p: Plan) => (p.action === 'reject' ? p.error.reason : undefined);
const json = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('decodeMessage', () => {
  it('strips the prefix, names the sender by its user property and keys the transfer', () => {
    const correlation = Buffer.from('c-1');
    const decoded = decodeMessage(
      'mqft/in/$file/f1/init',
      dev('dev-1', { responseTopic: 'my/answers', correlationData: correlation }),
      emqx,
    );
    expect(decoded).toMatchObject({
      ok: true,
      clientId: 'dev-1',
      anonymous: false,
      fileId: 'f1',
      key: transferKey({ clientId: 'dev-1', fileId: 'f1' }),
      reply: { deviceTopic: '$file/f1/init', responseTopic: 'my/answers', correlation },
    });
  });

  it("never keeps a Response Topic into ingest's own input (the bridge prefix)", () => {
    const decoded = decodeMessage(
      'mqft/in/$file/f1/init',
      dev('dev-1', { responseTopic: 'mqft/in/$file/victim/abort' }),
      emqx,
    );
    expect(decoded.reply.responseTopic).toBe(undefined);
    expect(decoded.clientId).toBe('dev-1');
  });

  it('puts a device that says nothing into the anonymous namespace', () => {
    const decoded = decodeMessage('mqft/in/$file-async/f1/abort', undefined, emqx);
    expect(decoded).toMatchObject({ ok: true, clientId: ANONYMOUS_CLIENT_ID, anonymous: true });
  });

  it('keeps who to answer when the topic is broken', () => {
    const decoded = decodeMessage('mqft/in/$file/f1/12x', dev('dev-1'), emqx);
    expect(decoded.ok).toBe(false);
    if (decoded.ok) return;
    expect(decoded.error.reason).toBe('invalid_offset');
    expect(decoded).toMatchObject({ clientId: 'dev-1', anonymous: false, fileId: 'f1' });
  });

  it('answers a scoped device at its topic clientId when its properties contradict it', () => {
    const decoded = decodeMessage('$file/dev-1/f1/init', dev('dev-2'), {
      layout: 'scoped',
      prefix: '',
    });
    expect(decoded).toMatchObject({ ok: false, clientId: 'dev-1', anonymous: false, kind: 'init' });
    if (!decoded.ok) expect(decoded.error.reason).toBe('not_authorized');
  });

  it('refuses identities too long to become a NATS subject', () => {
    const decoded = decodeMessage('mqft/in/$file/f1/init', dev('x'.repeat(MAX_KEY_LENGTH)), emqx);
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) expect(decoded.error.reason).toBe('not_authorized');
  });
});

describe('dispatch', () => {
  it('has one handler per command kind', () => {
    expect(Object.keys(HANDLERS).sort()).toEqual(['abort', 'fin', 'init', 'segment']);
  });

  it('init: stores the payload as sent with the reply, without msgID (a resume is answered again)', () => {
    const payload = json({ name: 'a.txt', size: 10, extra: true });
    const p = plan('mqft/in/$file/f1/init', payload, dev('dev-1', { responseTopic: 'r/1' }));
    expect(p).toMatchObject({
      action: 'store',
      messages: [{ body: payload, command: { kind: 'init' } }],
    });
    if (p.action !== 'store') return;
    expect(p.answer).toBeUndefined();
    expect(p.messages[0]?.command.reply).toEqual({
      deviceTopic: '$file/f1/init',
      responseTopic: 'r/1',
    });
    // In a header too, for the assemblers' headers-only consumer.
    expect(p.messages[0]?.command.filemeta).toEqual(payload);
  });

  it('init: answers bad metadata at once', () => {
    expect(reasonOf(plan('mqft/in/$file/f1/init', Buffer.from('{nope')))).toBe(
      'invalid_filemeta_json',
    );
    expect(reasonOf(plan('mqft/in/$file/f1/init', json({ name: 'a/b' })))).toBe('invalid_filemeta');
    expect(reasonOf(plan('mqft/in/$file/f1/init', json({ name: 'a', size: 10_001 })))).toBe(
      'file_too_large',
    );
  });

  it('segment: refuses what is too large or past the file limit', () => {
    expect(reasonOf(plan('mqft/in/$file/f1/0', new Uint8Array(4_001)))).toBe(
      'invalid_file_command',
    );
    expect(reasonOf(plan('mqft/in/$file/f1/9000', new Uint8Array(1_001)))).toBe('file_too_large');
    expect(plan('mqft/in/$file/f1/9000', new Uint8Array(1_000)).action).toBe('store');
  });

  it('segment: verifies the checksum of the topic, in either case', () => {
    const payload = Buffer.from('hello');
    const good = sha256Hex(payload).toUpperCase();
    expect(plan(`mqft/in/$file/f1/0/${good}`, payload).action).toBe('store');
    expect(reasonOf(plan(`mqft/in/$file/f1/0/${sha256Hex(Buffer.from('x'))}`, payload))).toBe(
      'checksum_mismatch',
    );
  });

  it('segment: splits into parts with their own offsets, answered with success', () => {
    const payload = Buffer.alloc(3_200, 7);
    const p = plan('mqft/in/$file/f1/100', payload);
    if (p.action !== 'store') throw new Error('not stored');
    const key = transferKey({ clientId: 'dev-1', fileId: 'f1' });
    expect(p.answer).toBe('success');
    expect(p.messages.map((m) => [m.command.kind, m.command.offset, m.body.byteLength])).toEqual([
      ['seg', 100, 1_500],
      ['seg', 1_600, 1_500],
      ['seg', 3_100, 200],
    ]);
    // Every part carries the reply: the assembler answers a segment past the transfer's cap.
    expect(p.messages.every((m) => m.command.key === key)).toBe(true);
    expect(p.messages.map((m) => m.command.reply?.deviceTopic)).toEqual(
      Array(3).fill('$file/f1/100'),
    );
  });

  it('fin: stores size, checksum and reply without msgID; refuses a size past the limit', () => {
    const sum = 'AB'.repeat(32);
    const p = plan(`mqft/in/$file/f1/fin/5000/${sum}`, new Uint8Array(0));
    expect(p).toMatchObject({
      action: 'store',
      messages: [
        {
          command: {
            kind: 'fin',
            size: 5000,
            checksum: sum.toLowerCase(),
            reply: { deviceTopic: `$file/f1/fin/5000/${sum}` },
          },
        },
      ],
    });
    expect(reasonOf(plan('mqft/in/$file/f1/fin/10001', new Uint8Array(0)))).toBe('file_too_large');
  });

  it('abort: stores the abort with its reply for the assembler to answer', () => {
    const p = plan('mqft/in/$file/f1/abort', new Uint8Array(0));
    expect(p).toMatchObject({
      action: 'store',
      messages: [{ command: { kind: 'abort', reply: { deviceTopic: '$file/f1/abort' } } }],
    });
    if (p.action === 'store') expect(p.answer).toBeUndefined();
  });
});
