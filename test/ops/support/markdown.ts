// Reading the project's Markdown as a reader (and GitHub) sees it: headings and their anchors,
// links, citations of a doc's section, and the values written next to a constant's name.

/** The heading texts of a Markdown document, outside fenced code blocks. */
export function headings(markdown: string): string[] {
  const found: string[] = [];
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line);
    if (heading) found.push(heading[1] as string);
  }
  return found;
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens. */
export function slug(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

/** Every anchor of a document, with GitHub's `-1`, `-2` suffixes for repeated headings. */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const heading of headings(markdown)) {
    const base = slug(heading);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

/** Inline links `[text](target)` outside fenced code blocks and code spans. */
export function links(markdown: string): string[] {
  const prose = markdown.replace(/^\s*(```|~~~)[\s\S]*?^\s*\1/gm, '').replace(/`[^`\n]*`/g, '');
  return [...prose.matchAll(/\[[^\]]*\]\(([^)\s]+)\)/g)].map((m) => m[1] as string);
}

/**
 * Joins the lines of a text file as a reader of its comments would: a line break and the
 * comment marker of the next line (`//`, `#`, `*`, `--`) become one space.
 */
export function joinedLines(text: string): string {
  return text.replace(/[ \t]*\r?\n[ \t]*(?:\/\/+|#+|\*|--)?[ \t]*/g, ' ');
}

export interface Citation {
  /** The cited document's base name (`design` for docs/design.md). */
  doc: string;
  section: string;
  /** Written with the `docs/` prefix (else: a bare `design.md "…"` inside docs/). */
  prefixed: boolean;
}

/** `docs/<file>.md "<Section>"`, also `docs/<file>.md ("<Section>")` and `[<file>.md "…"](…)`. */
export function citations(text: string): Citation[] {
  const pattern = /(?<![\w/.-])(docs\/)?([a-z0-9-]+)\.md`?\)?\s?\(?"([^"]{1,120})"/g;
  return [...joinedLines(text).matchAll(pattern)].map((m) => ({
    doc: m[2] as string,
    section: (m[3] as string).replace(/\s+/g, ' ').trim(),
    prefixed: m[1] !== undefined,
  }));
}

const UNITS: Record<string, number> = {
  '': 1,
  ms: 1,
  s: 1000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  B: 1,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
};

/** `8`, `10 s`, `2 min`, `7 d`, `8 MiB`, `10 000` as a number (ms for durations, bytes). */
export function quantity(text: string): number | undefined {
  const match = /^(\d+(?:[ \u202f]\d{3})*(?:\.\d+)?) ?([A-Za-z]*)$/.exec(text.trim());
  const factor = UNITS[match?.[2] ?? 'none'];
  if (!match || factor === undefined) return undefined;
  return Number((match[1] as string).replace(/[ \u202f]/g, '')) * factor;
}

export interface NamedValue {
  name: string;
  /** As written, e.g. `10 s`. */
  text: string;
  value: number | undefined;
}

/**
 * The values written next to a constant's or a variable's name: `` `NAME` (8) ``,
 * `` `NAME` (10 s) ``, `` `NAME` (default 4) ``, `` `NAME` (30 s by default) ``.
 */
export function namedValues(markdown: string): NamedValue[] {
  const pattern =
    /`([A-Z][A-Z0-9_]*[A-Z0-9])`\s+\((?:default )?(\d[\d ]*(?:\.\d+)? ?[A-Za-z]*?)(?: by default)?\)/g;
  return [...markdown.matchAll(pattern)].map((m) => ({
    name: m[1] as string,
    text: m[2] as string,
    value: quantity(m[2] as string),
  }));
}

/** The cells of a Markdown table row (`| a | b |` → ['a', 'b']); escaped pipes stay. */
export function tableCells(line: string): string[] {
  return line
    .split(/(?<!\\)\|/)
    .slice(1, -1)
    .map((c) => c.trim());
}

/**
 * The values a metric table's meaning cell lists for a label: the backticked words after
 * `` `label`: `` up to the next label or the end, leaving out what is in parentheses.
 */
export function listedLabelValues(meaning: string, label: string): string[] | undefined {
  let text = meaning;
  for (let before = ''; before !== text;) {
    before = text;
    text = text.replace(/\([^()]*\)/g, '');
  }
  const start = text.indexOf(`\`${label}\`:`);
  if (start < 0) return undefined;
  const rest = text.slice(start + label.length + 3);
  const next = /`[a-z_]+`:/.exec(rest);
  const own = next ? rest.slice(0, next.index) : rest;
  return [...own.matchAll(/`([a-z_]+)`/g)].map((m) => m[1] as string);
}
