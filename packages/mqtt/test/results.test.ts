import { describe, expect, it } from 'vitest';
import { isPublishableTopic, resultTopic } from '../src/index.js';

describe('resultTopic', () => {
  const reply = { deviceTopic: '$file/f1/init' };

  it('prefers the Response Topic, else $file-response/{clientId}', () => {
    expect(
      resultTopic({
        reply: { ...reply, responseTopic: 'my/answers' },
        clientId: 'd',
        anonymous: false,
      }),
    ).toBe('my/answers');
    expect(resultTopic({ reply, clientId: 'dev-1', anonymous: false })).toBe(
      '$file-response/dev-1',
    );
  });

  it('has no topic for an anonymous sender without a Response Topic', () => {
    expect(resultTopic({ reply, clientId: '\u0000', anonymous: true })).toBeUndefined();
    expect(
      resultTopic({ reply: { ...reply, responseTopic: 'r' }, clientId: '\u0000', anonymous: true }),
    ).toBe('r');
  });

  it('never publishes to a topic with wildcards (the broker would drop the connection)', () => {
    expect(
      resultTopic({ reply: { ...reply, responseTopic: 'a/+/b' }, clientId: 'd', anonymous: false }),
    ).toBeUndefined();
    expect(isPublishableTopic('a/#')).toBe(false);
    expect(isPublishableTopic('')).toBe(false);
    expect(isPublishableTopic('a\u0000b')).toBe(false);
    expect(isPublishableTopic('$file-response/🌚')).toBe(true);
  });
});
