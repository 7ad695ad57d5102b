import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  createLogger,
  cutForLog,
  MAX_LOGGED_STRING_CHARS,
  redactUrlCredentials,
} from '../src/index.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = createLogger('test', 'debug', destination);
  return {
    logger,
    lines,
    last: () => JSON.parse(lines[lines.length - 1] ?? '{}') as Record<string, unknown>,
  };
}

describe('cutForLog and redactUrlCredentials', () => {
  it('cuts long strings and says by how much; never splits a surrogate pair', () => {
    expect(cutForLog('short')).toBe('short');
    expect(cutForLog('x'.repeat(300), 10)).toBe(`${'x'.repeat(10)}…(290 more chars)`);
    expect(cutForLog(`${'x'.repeat(9)}🌚yyy`, 10)).toBe(`${'x'.repeat(9)}…(5 more chars)`);
  });

  it('redacts the credentials of every URL in a text', () => {
    expect(redactUrlCredentials('to mqtt://u:p@h:1883 and redis://:pw@r/0 and nats://t@n')).toBe(
      'to mqtt://[redacted]@h:1883 and redis://[redacted]@r/0 and nats://[redacted]@n',
    );
    expect(redactUrlCredentials('a@b mqtt://h:1883')).toBe('a@b mqtt://h:1883');
  });
});

describe('createLogger (issue 14 case 10)', () => {
  it('a 64 KiB clientId, fileId or topic makes a line of bounded size', () => {
    const { logger, lines, last } = capture();
    const clientId = 'c'.repeat(65_536);
    logger
      .child({ clientId, fileId: 'f'.repeat(300), key: 'k'.repeat(90_000) })
      .child({ more: 'm'.repeat(1000) })
      .info(
        { deviceTopic: `$file/${'t'.repeat(70_000)}/init`, list: ['l'.repeat(500)] },
        `x ${clientId}`,
      );
    expect(lines[0]?.length).toBeLessThan(6 * 1024);
    const line = last();
    expect(line.clientId).toBe(`${'c'.repeat(MAX_LOGGED_STRING_CHARS)}…(65280 more chars)`);
    expect((line.fileId as string).length).toBeLessThan(300);
    expect((line.more as string).startsWith('m'.repeat(MAX_LOGGED_STRING_CHARS))).toBe(true);
  });

  it('redacts password and token fields and credentials inside URLs, errors included', () => {
    const { logger, lines } = capture();
    logger.child({ password: 'p1' }).warn(
      {
        url: 'mqtt://dev:p2@broker:1883',
        config: { mqttPassword: 'p3', apiTokens: ['p4'], redisUrl: 'redis://:p5@r:6379' },
        authorization: 'Bearer p6',
        err: new Error('no MQTT connection to mqtts://svc:p7@broker:8883 within 10 ms'),
      },
      'connecting to mqtt://u:p8@h',
    );
    const line = lines.join('');
    for (const secret of ['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7', 'p8'])
      expect(line, secret).not.toMatch(new RegExp(`\\b${secret}\\b`));
    expect(line).toMatch(/"url":"mqtt:\/\/\[redacted\]@broker:1883"/);
    expect(line).toMatch(/no MQTT connection to mqtts:\/\/\[redacted\]@broker:8883/);
    expect(line).toMatch(/"password":"\[redacted\]"/);
  });

  it('keeps ordinary fields, numbers and errors as they are', () => {
    const { logger, last } = capture();
    logger.info({ n: 3, ok: true, note: 'fine', err: new Error('boom') }, 'hello');
    expect(last()).toMatchObject({
      n: 3,
      ok: true,
      note: 'fine',
      msg: 'hello',
      err: { message: 'boom' },
    });
  });
});
