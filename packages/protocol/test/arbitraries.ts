import fc from 'fast-check';
import type { Command, CommandRoot, Layout } from '../src/index.js';
import { fileIdProblem, topicClientIdProblem } from '../src/index.js';

/** Strings of any UTF-16 code units, lone surrogates included: what a buggy caller may pass. */
export const anyUtf16String = (maxLength = 40) =>
  fc.string({
    unit: fc.integer({ min: 0, max: 0xffff }).map((u) => String.fromCharCode(u)),
    maxLength,
  });

/** Well-formed strings over the whole Unicode range. */
export const anyUnicodeString = (maxLength = 40) => fc.string({ unit: 'binary', maxLength });

export const hex64 = fc
  .array(fc.constantFrom(...'0123456789abcdefABCDEF'), { minLength: 64, maxLength: 64 })
  .map((chars) => chars.join(''));

const tricky = fc.constantFrom(
  '.',
  '..',
  '🌚',
  '; rm -rf ;',
  'init',
  'fin',
  'abort',
  '0',
  '%',
  '中文',
);

export const validFileId = fc.oneof(
  tricky,
  anyUnicodeString(60).filter((s) => fileIdProblem(s) === undefined),
);

export const validClientId = fc.oneof(
  tricky,
  anyUnicodeString(60).filter((s) => topicClientIdProblem(s) === undefined),
);

export const layout = fc.constantFrom<Layout>('emqx', 'scoped');
export const root = fc.constantFrom<CommandRoot>('$file', '$file-async');

/** Any command a topic can carry in `layoutName`, checksums in either case. */
export function validCommand(layoutName: Layout): fc.Arbitrary<Command> {
  const base = fc.record({
    root,
    fileId: validFileId,
    ...(layoutName === 'scoped' ? { clientId: validClientId } : {}),
  });
  const checksum = fc.option(hex64, { nil: undefined });
  const segment = fc.tuple(base, fc.maxSafeNat(), checksum).map(([b, offset, sum]) => {
    const command: Command = { kind: 'segment', ...b, offset, ...withChecksum(sum) };
    return command;
  });
  const fin = fc.tuple(base, fc.maxSafeNat(), checksum).map(([b, size, sum]) => {
    const command: Command = { kind: 'fin', ...b, size, ...withChecksum(sum) };
    return command;
  });
  return fc.oneof(
    base.map((b): Command => ({ kind: 'init', ...b })),
    base.map((b): Command => ({ kind: 'abort', ...b })),
    segment,
    fin,
  );
}

function withChecksum(sum: string | undefined): { checksum?: string } {
  return sum === undefined ? {} : { checksum: sum };
}

/** What parsing gives back for a command: checksums in lower case. */
export function normalized(command: Command): Command {
  if ((command.kind === 'segment' || command.kind === 'fin') && command.checksum !== undefined) {
    return { ...command, checksum: command.checksum.toLowerCase() };
  }
  return command;
}
