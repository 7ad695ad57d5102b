import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatTopic,
  parseTopic,
  ProtocolError,
  REASON_DESCRIPTIONS,
  type Layout,
} from '../src/index.js';
import {
  anyUnicodeString,
  anyUtf16String,
  hex64,
  layout,
  normalized,
  validCommand,
} from './arbitraries.js';

const prefix = fc.constantFrom('', 'mqft/in/', 'a/', '$share/x/');

describe('formatTopic → parseTopic', () => {
  it.each<Layout>(['emqx', 'scoped'])('gives back the same command (%s layout)', (layoutName) => {
    fc.assert(
      fc.property(validCommand(layoutName), prefix, (command, pre) => {
        const deviceTopic = formatTopic(command, layoutName);
        const result = parseTopic(pre + deviceTopic, { layout: layoutName, prefix: pre });
        expect(result).toEqual({ ok: true, command: normalized(command), deviceTopic });
      }),
      { numRuns: 500 },
    );
  });
});

// Topics built from the pieces the grammar knows, so the generator reaches every branch.
const level = fc.oneof(
  fc.constantFrom('$file', '$file-async', 'init', 'fin', 'abort', '', '0', '007', '-1', 'x'),
  fc.constantFrom('9007199254740991', '9007199254740992', '\u0000', '+', '#', '🌚'),
  hex64,
  anyUnicodeString(8),
  anyUtf16String(8),
);
const rootLevel = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('$file', '$file-async') },
  { weight: 1, arbitrary: level },
);
const structuredTopic = fc
  .tuple(rootLevel, fc.array(level, { maxLength: 6 }))
  .map(([root, levels]) => [root, ...levels].join('/'));
// Valid topics of either layout, some with one level replaced, dropped or added.
const validTopic = layout.chain((l) => validCommand(l).map((c) => formatTopic(c, l)));
const mutatedTopic = fc
  .tuple(validTopic, fc.nat(6), fc.constantFrom('replace', 'drop', 'add'), level)
  .map(([topic, at, how, extra]) => {
    const levels = topic.split('/');
    const index = at % levels.length;
    if (how === 'replace') levels[index] = extra;
    if (how === 'drop') levels.splice(index, 1);
    if (how === 'add') levels.splice(index, 0, extra);
    return levels.join('/');
  });
const anyTopic = fc.oneof(
  structuredTopic,
  validTopic,
  mutatedTopic,
  anyUtf16String(60),
  anyUnicodeString(60),
);

describe('parseTopic on any string', () => {
  it('never throws; yields a command or a known ProtocolError, and is stable', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(anyTopic, layout, prefix, (topic, layoutName, pre) => {
        const result = parseTopic(pre + topic, { layout: layoutName, prefix: pre });
        expect(result.deviceTopic).toBe(topic);
        seen.add(result.ok ? result.command.kind : result.error.reason);
        if (result.ok) {
          // What parses can be written back, and reads the same again.
          const again = parseTopic(formatTopic(result.command, layoutName), { layout: layoutName });
          expect(again).toMatchObject({ ok: true, command: result.command });
        } else {
          expect(result.error).toBeInstanceOf(ProtocolError);
          expect(REASON_DESCRIPTIONS).toContain(result.error.reason);
          expect(result.error.code).toBe(0x83);
        }
      }),
      { numRuns: 2000 },
    );
    // The generator must reach both sides, or the property proves little.
    expect(seen).toContain('init');
    expect(seen).toContain('segment');
    expect(seen).toContain('invalid_offset');
  });

  it('never throws on a topic outside the prefix', () => {
    fc.assert(
      fc.property(anyUtf16String(60), layout, (topic, layoutName) => {
        const result = parseTopic(topic, { layout: layoutName, prefix: '\u0001never/' });
        expect(result.ok).toBe(false);
        expect(result).toMatchObject({ deviceTopic: topic });
      }),
    );
  });
});
