import { describe, expect, it } from 'vitest';
import type { ResultMessage } from '@mqft/protocol';
import { ResultMatcher, parseResult } from '../src/result-matcher.js';

const result = (topic: string, code = 0): ResultMessage => ({
  vsn: '0.1',
  topic,
  reason_code: code,
  reason_description: code === 0 ? 'success' : 'checksum_mismatch',
});

describe('ResultMatcher', () => {
  it('matches by Correlation Data first', async () => {
    const matcher = new ResultMatcher();
    const a = matcher.expect('$file/f/0', 'u:1');
    const b = matcher.expect('$file/f/0', 'u:2');
    expect(matcher.deliver(result('$file/f/0', 0x80), 'u:2')).toBe(true);
    expect(matcher.deliver(result('$file/f/0'), 'u:1')).toBe(true);
    expect((await a.result).reason_code).toBe(0);
    expect((await b.result).reason_code).toBe(0x80);
    expect(matcher.size).toBe(0);
  });

  it('matches by topic, oldest first, without Correlation Data', async () => {
    const matcher = new ResultMatcher();
    const first = matcher.expect('$file/d/f/init');
    const second = matcher.expect('$file/d/f/init');
    const other = matcher.expect('$file/d/f/0');
    matcher.deliver(result('$file/d/f/0'));
    matcher.deliver(result('$file/d/f/init', 0x97));
    expect((await other.result).topic).toBe('$file/d/f/0');
    expect((await first.result).reason_code).toBe(0x97);
    expect(matcher.size).toBe(1);
    second.cancel();
    expect(matcher.size).toBe(0);
  });

  it('drops results nobody waits for (duplicates, unknown correlation)', () => {
    const matcher = new ResultMatcher();
    const pending = matcher.expect('$file/f/init', 'x:1');
    expect(matcher.deliver(result('$file/f/init'), 'y:9')).toBe(false);
    expect(matcher.deliver(result('$file/f/fin/1'))).toBe(false);
    pending.cancel();
    expect(matcher.deliver(result('$file/f/init'), 'x:1')).toBe(false);
  });

  it('parseResult accepts result documents only', () => {
    expect(parseResult(Buffer.from(JSON.stringify(result('t'))))).toMatchObject({ topic: 't' });
    expect(parseResult(Buffer.from('not json'))).toBeUndefined();
    expect(parseResult(Buffer.from('{"topic":1}'))).toBeUndefined();
    expect(parseResult(Buffer.from('null'))).toBeUndefined();
  });
});
