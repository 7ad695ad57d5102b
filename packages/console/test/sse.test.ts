import { describe, expect, it } from 'vitest';
import { SseParser } from '../src/sse.js';

describe('SseParser', () => {
  it('reads events split anywhere across chunks, with CRLF, LF or CR line ends', () => {
    const text =
      'retry: 2000\n\n: heartbeat\n\nevent: ready\ndata: {}\n\r\nevent: transfer\r\ndata: {"a":1}\r\rdata: x\n\n';
    for (let cut = 0; cut <= text.length; cut++) {
      const parser = new SseParser();
      const events = [...parser.push(text.slice(0, cut)), ...parser.push(text.slice(cut))];
      expect(events, `cut at ${cut}`).toEqual([
        { event: 'ready', data: '{}' },
        { event: 'transfer', data: '{"a":1}' },
        { event: 'message', data: 'x' },
      ]);
      expect(parser.retryMs).toBe(2000);
    }
  });

  it('joins data lines, keeps the id, drops events without data and ignores unknown fields', () => {
    const parser = new SseParser();
    expect(
      parser.push('event: nothing\n\nid: 7\nfoo: bar\ndata: one\ndata:two\ndata\n\nretry: x\n\n'),
    ).toEqual([{ event: 'message', data: 'one\ntwo\n', id: '7' }]);
    expect(parser.retryMs).toBeUndefined();
  });

  it('dispatches nothing until the blank line', () => {
    const parser = new SseParser();
    expect(parser.push('event: transfer\ndata: {}\n')).toEqual([]);
    expect(parser.push('\n')).toEqual([{ event: 'transfer', data: '{}' }]);
  });
});
