/**
 * "Printable" as docs/protocol.md defines it for names and storage-key escaping:
 * code points 32–126, U+00A0–U+D7FF, U+E000–U+FFFD, U+10000 and above.
 */
export function isPrintableCodePoint(cp: number): boolean {
  return (
    (cp >= 0x20 && cp <= 0x7e) ||
    (cp >= 0xa0 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd) ||
    cp >= 0x10000
  );
}
