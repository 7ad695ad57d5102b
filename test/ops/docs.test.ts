import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, SERVICE_RUNTIME_ENV } from '@mqft/test-support';
import { MQFT_VARIABLES, type Variable } from '../../packages/config/src/index.js';
import {
  DEFAULT_RESULT_TIMEOUT_MS,
  DEFAULT_RETRY,
  DEFAULT_SEGMENT_SIZE,
  DEFAULT_WINDOW,
} from '../../packages/client/src/options.js';
import { RESULT_OUTCOMES, RESULT_PUBACK_TIMEOUT_MS } from '../../packages/mqtt/src/index.js';
import { DUPLICATE_WINDOW_MS } from '../../packages/stream/src/index.js';
import { MAX_SMALL_ASSEMBLIES } from '../../services/assembler/src/admission.js';
import { READ_WINDOW } from '../../services/assembler/src/assemble.js';
import { ACK_WAIT_MS } from '../../services/assembler/src/assembler.js';
import { BACKLOG_POLL_MS } from '../../services/assembler/src/backlog.js';
import {
  NAK_DELAY_MS,
  PULL_EXPIRES_MS,
  PULL_MAX_MESSAGES,
} from '../../services/assembler/src/consumer.js';
import {
  ASSEMBLY_RESULTS,
  STORAGE_ERROR_OPERATIONS,
} from '../../services/assembler/src/metrics.js';
import { LEFTOVER_CHECK_MS, RECENT_PURGE_MS } from '../../services/assembler/src/recent-purges.js';
import { SWEEP_INTERVAL_MS } from '../../services/assembler/src/scheduler.js';
import { LISTED_SEGMENTS } from '../../services/assembler/src/segment-snapshot.js';
import {
  PROGRESSIVE_BATCH_MS,
  PROGRESSIVE_MAX_RESTARTS,
  PROGRESSIVE_POLL_MS,
} from '../../services/assembler/src/assemble-progressive.js';
import { PROGRESSIVE_OFFER_EVERY_MS } from '../../services/assembler/src/progressive.js';
import {
  PUBLISH_RETRY_BUDGET_MS,
  SESSION_EXPIRY_SECONDS,
} from '../../services/ingest/src/ingest.js';
import {
  configRows,
  configTable,
  OPERATIONS_MD,
  SERVICE_SCHEMAS,
  tableInDoc,
} from '../../deploy/tools/config-table.js';
import { metricsCatalogue, seriesNames } from '../../deploy/tools/metrics-catalogue.js';
import {
  anchors,
  citations,
  headings,
  links,
  listedLabelValues,
  namedValues,
  quantity,
  tableCells,
} from './support/markdown.js';

// docs/operations.md stays true: its configuration table is exactly what the code reads, and
// its metric catalogue names every metric the services register, with its type and labels.

const doc = readFileSync(OPERATIONS_MD, 'utf8');

/** The rows of the metric tables: `| \`mqft_…\` | type | labels | … |`. */
function documentedMetrics(): Map<string, { type: string; labels: string[] }> {
  const rows = new Map<string, { type: string; labels: string[] }>();
  for (const line of doc.split('\n')) {
    const cells = line.split(/(?<!\\)\|/).map((c) => c.trim());
    const name = /^`(mqft_[a-z0-9_]+)`$/.exec(cells[1] ?? '')?.[1];
    if (name === undefined) continue;
    const labels = [...(cells[3] ?? '').matchAll(/`([a-z_]+)`/g)].map((m) => m[1] as string);
    expect(rows.has(name), `${name} is documented once`).toBe(false);
    rows.set(name, { type: cells[2] ?? '', labels });
  }
  return rows;
}

describe('docs/operations.md', () => {
  it('holds exactly the configuration table generated from the code', () => {
    expect(
      tableInDoc(doc),
      'run `pnpm exec tsx deploy/tools/config-table.ts --write` to update it',
    ).toBe(configTable());
  });

  it('the table lists every MQFT_* variable once, with a default and a meaning', () => {
    const rows = configRows();
    const names = rows.map((r) => r.name);
    expect(new Set(names).size).toBe(names.length);
    for (const row of rows) {
      expect(row.name).toMatch(/^MQFT_[A-Z0-9_]+$/);
      expect(row.description.length, row.name).toBeGreaterThan(5);
      expect(row.defaults.length, row.name).toBeGreaterThan(0);
    }
    expect(names).toContain('MQFT_HTTP_ADDR');
    expect(names).toContain('MQFT_SHUTDOWN_GRACE');
  });

  it('documents every service metric with its type and labels', async () => {
    const documented = documentedMetrics();
    for (const metric of (await metricsCatalogue()).filter((m) => !m.process)) {
      const row = documented.get(metric.name);
      expect(row, `${metric.name} (${metric.services.join(',')}) has a row`).toBeDefined();
      expect(row?.type, metric.name).toBe(metric.type);
      expect(row?.labels.sort(), `${metric.name} labels`).toEqual([...metric.labels].sort());
    }
  });

  it('names no metric that does not exist', async () => {
    const catalogue = await metricsCatalogue();
    const known = new Set(catalogue.flatMap((m) => [m.name, ...seriesNames(m)]));
    const mentioned = doc.match(/\bmqft_[a-z0-9_]+[a-z0-9]\b/g) ?? [];
    // Families written with a placeholder (`mqft_nodejs_heap_space_size_{total,…}_bytes`)
    // are checked by their expansion.
    const families = doc.match(/\bmqft_[a-z0-9_]+\{[a-z,]+\}[a-z0-9_]*/g) ?? [];
    const expanded = families.flatMap((f) => {
      const [, head, alts, tail] = /^(.*)\{(.*)\}(.*)$/.exec(f) as RegExpExecArray;
      return (alts as string).split(',').map((a) => `${head}${a}${tail}`);
    });
    for (const name of [...mentioned, ...expanded]) {
      if (families.some((f) => f.startsWith(name))) continue;
      expect(known.has(name), `${name} is a real metric`).toBe(true);
    }
  });

  it('lists the runtime flags of SERVICE_RUNTIME_ENV', () => {
    for (const [name, value] of Object.entries(SERVICE_RUNTIME_ENV)) {
      expect(doc).toContain(`| \`${name}\``);
      expect(doc).toContain(`\`${value}\``);
    }
  });

  it('keeps its sections clearly headed (others may append more)', () => {
    const headings = doc.split('\n').filter((l) => /^## /.test(l));
    for (const heading of [
      '## Health endpoints',
      '## Shutdown (SIGTERM)',
      '## Metric catalogue',
      '## Alerts',
      '## Configuration',
      '## Runtime flags',
      '## Brokers',
      '## Scaling and sizing',
    ]) {
      expect(headings).toContain(heading);
    }
  });
});

// The rest of the docs stay true too: every constant and default they state, every metric
// label value they list, every section they cite and every file they link.

/** Tracked files (what a clone has), relative to the repository root. */
const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: REPO_ROOT, encoding: 'utf8' })
  .split('\0')
  .filter((path) => path !== '' && existsSync(join(REPO_ROOT, path)));
const trackedSet = new Set(tracked);
const read = (path: string): string => readFileSync(join(REPO_ROOT, path), 'utf8');
const textFiles = tracked
  .filter((path) => !/\.(png|jpg|ico|gz|tgz|zip|pdf|woff2?)$/.test(path))
  .map((path) => ({ path, text: read(path) }))
  .filter(({ text }) => !text.includes('\0'));
/** This file: its fixtures and patterns are not claims. */
const SELF = 'test/ops/docs.test.ts';
const docFiles = tracked.filter((path) => /^docs\/[^/]+\.md$/.test(path));
const markdownFiles = ['README.md', ...docFiles];

const SECOND = 1000;
/**
 * The constants the docs name as `NAME` (value), with the code's value (ms for durations) and
 * the docs that must name them: a doc restating one of these numbers without its name could
 * drift unnoticed.
 */
const CONSTANTS: Record<string, { value: number; namedIn: string[] }> = {
  READ_WINDOW: { value: READ_WINDOW, namedIn: ['docs/internals.md', 'docs/design.md'] },
  ACK_WAIT_MS: {
    value: ACK_WAIT_MS,
    namedIn: ['docs/internals.md', 'docs/operations.md', 'docs/design.md'],
  },
  NAK_DELAY_MS: {
    value: NAK_DELAY_MS,
    namedIn: ['docs/internals.md', 'docs/operations.md', 'docs/design.md'],
  },
  PULL_EXPIRES_MS: {
    value: PULL_EXPIRES_MS,
    namedIn: ['docs/internals.md', 'docs/operations.md', 'docs/design.md'],
  },
  PULL_MAX_MESSAGES: { value: PULL_MAX_MESSAGES, namedIn: ['docs/internals.md'] },
  PROGRESSIVE_POLL_MS: { value: PROGRESSIVE_POLL_MS, namedIn: ['docs/internals.md'] },
  PROGRESSIVE_BATCH_MS: { value: PROGRESSIVE_BATCH_MS, namedIn: ['docs/internals.md'] },
  PROGRESSIVE_MAX_RESTARTS: { value: PROGRESSIVE_MAX_RESTARTS, namedIn: ['docs/internals.md'] },
  PROGRESSIVE_OFFER_EVERY_MS: {
    value: PROGRESSIVE_OFFER_EVERY_MS,
    namedIn: ['docs/internals.md'],
  },
  LISTED_SEGMENTS: { value: LISTED_SEGMENTS, namedIn: ['docs/internals.md'] },
  SWEEP_INTERVAL_MS: {
    value: SWEEP_INTERVAL_MS,
    namedIn: ['docs/internals.md', 'docs/design.md'],
  },
  LEFTOVER_CHECK_MS: {
    value: LEFTOVER_CHECK_MS,
    namedIn: ['docs/internals.md', 'docs/operations.md'],
  },
  RECENT_PURGE_MS: {
    value: RECENT_PURGE_MS,
    namedIn: ['docs/internals.md', 'docs/operations.md'],
  },
  BACKLOG_POLL_MS: {
    value: BACKLOG_POLL_MS,
    namedIn: ['docs/internals.md', 'docs/operations.md'],
  },
  MAX_SMALL_ASSEMBLIES: { value: MAX_SMALL_ASSEMBLIES, namedIn: ['docs/operations.md'] },
  PUBLISH_RETRY_BUDGET_MS: {
    value: PUBLISH_RETRY_BUDGET_MS,
    namedIn: ['docs/operations.md', 'docs/design.md'],
  },
  RESULT_PUBACK_TIMEOUT_MS: { value: RESULT_PUBACK_TIMEOUT_MS, namedIn: ['docs/operations.md'] },
  SESSION_EXPIRY_SECONDS: {
    value: SESSION_EXPIRY_SECONDS * SECOND,
    namedIn: ['docs/operations.md', 'docs/design.md'],
  },
  DUPLICATE_WINDOW_MS: { value: DUPLICATE_WINDOW_MS, namedIn: ['docs/design.md'] },
};

/** The numeric defaults of the MQFT_* variables (ms for durations, bytes for sizes). */
function variableDefaults(): Map<string, Set<number>> {
  const defaults = new Map<string, Set<number>>();
  const all: Variable<unknown>[] = [
    ...Object.values(MQFT_VARIABLES),
    ...Object.values(SERVICE_SCHEMAS).flatMap((schema) => Object.values(schema)),
  ];
  for (const variable of all) {
    if (variable.defaultText === undefined) continue;
    const value = variable.read(variable.defaultText);
    if (typeof value !== 'number') continue;
    defaults.set(variable.name, (defaults.get(variable.name) ?? new Set()).add(value));
  }
  return defaults;
}

describe('constants and defaults the docs state', () => {
  const defaults = variableDefaults();

  it('every `NAME` (value) in README.md and docs/*.md is the code’s value', () => {
    const wrong: string[] = [];
    let checked = 0;
    for (const path of markdownFiles) {
      for (const named of namedValues(read(path))) {
        const where = `${path}: \`${named.name}\` (${named.text})`;
        const code = CONSTANTS[named.name]?.value ?? defaults.get(named.name);
        if (code === undefined) {
          wrong.push(`${where}: not a known constant or numeric MQFT_* default (add it above)`);
        } else if (
          typeof code === 'number' ? code !== named.value : !code.has(named.value ?? NaN)
        ) {
          const says = typeof code === 'number' ? code : [...code].join(' or ');
          wrong.push(`${where}: the code says ${says}`);
        }
        checked++;
      }
    }
    expect(wrong).toEqual([]);
    expect(checked).toBeGreaterThan(30);
  });

  it('the docs name each constant they depend on, with its value', () => {
    const missing: string[] = [];
    for (const [name, { namedIn }] of Object.entries(CONSTANTS)) {
      for (const path of namedIn) {
        if (!namedValues(read(path)).some((n) => n.name === name)) missing.push(`${path}: ${name}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('reads values as the docs write them', () => {
    expect(quantity('8')).toBe(8);
    expect(quantity('10 s')).toBe(10_000);
    expect(quantity('2 min')).toBe(120_000);
    expect(quantity('7 d')).toBe(7 * 86_400_000);
    expect(quantity('8 MiB')).toBe(8 * 1024 * 1024);
    expect(quantity('10 000')).toBe(10_000);
    expect(quantity('8 apples')).toBeUndefined();
    expect(namedValues('`A_B` (default 4), `C_D` (30 s by default), `E` (7 d in x)')).toEqual([
      { name: 'A_B', text: '4', value: 4 },
      { name: 'C_D', text: '30 s', value: 30_000 },
    ]);
  });

  it('docs/sdk.md states the SDK’s option defaults', () => {
    const rows = new Map(
      read('docs/sdk.md')
        .split('\n')
        .map(tableCells)
        .filter((cells) => /^`\w+`$/.test(cells[0] ?? ''))
        .map((cells) => [(cells[0] as string).slice(1, -1), cells]),
    );
    expect(quantity(rows.get('segmentSize')?.[1] ?? '')).toBe(DEFAULT_SEGMENT_SIZE);
    expect(quantity(rows.get('window')?.[1] ?? '')).toBe(DEFAULT_WINDOW);
    expect(quantity(rows.get('resultTimeoutMs')?.[1] ?? '')).toBe(DEFAULT_RESULT_TIMEOUT_MS);
    const retry = Object.fromEntries(
      [...(rows.get('retry')?.[2] ?? '').matchAll(/(\w+): (\d[\d ]*\d|\d)/g)].map(
        (m): [string, number | undefined] => [m[1] ?? '', quantity(m[2] ?? '')],
      ),
    );
    expect(retry).toEqual(DEFAULT_RETRY);
  });
});

/** Label values the code can produce, from the code's own `as const` lists. */
const LABEL_VALUES = [
  { metric: 'mqft_assembler_assemblies_total', label: 'result', values: ASSEMBLY_RESULTS },
  {
    metric: 'mqft_assembler_storage_errors_total',
    label: 'operation',
    values: STORAGE_ERROR_OPERATIONS,
  },
  { metric: 'mqft_results_published_total', label: 'outcome', values: RESULT_OUTCOMES },
] as const;

describe('metric label values the docs list', () => {
  const rows = new Map(
    doc
      .split('\n')
      .map(tableCells)
      .filter((cells) => /^`mqft_[a-z0-9_]+`$/.test(cells[0] ?? ''))
      .map((cells) => [(cells[0] as string).slice(1, -1), cells[3] ?? '']),
  );

  it.each(LABEL_VALUES)(
    'the catalogue lists exactly the $metric $label values the code produces',
    ({ metric, label, values }) => {
      const listed = listedLabelValues(rows.get(metric) ?? '', label);
      expect(listed, `${metric}: "\`${label}\`: …" in its meaning`).toBeDefined();
      expect([...(listed ?? [])].sort()).toEqual([...values].sort());
    },
  );

  it('every label matcher written in the docs names a value the code produces', () => {
    const wrong: string[] = [];
    for (const path of markdownFiles) {
      const text = read(path);
      for (const { metric, label, values } of LABEL_VALUES) {
        const bare = label === 'outcome' ? '(?!)' : '';
        const pattern = new RegExp(`(?:${metric}\\{[^}]*|${bare}\\b)${label}="([a-z_]*)"`, 'g');
        for (const m of text.matchAll(pattern)) {
          if (!(values as readonly string[]).includes(m[1] as string))
            wrong.push(`${path}: ${m[0]}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('says how an assembly stopped by SIGTERM is counted', () => {
    const shutdown = doc.split(/^## /m).find((s) => s.startsWith('Shutdown (SIGTERM)')) ?? '';
    expect(shutdown).toContain('`result="handed_over"`');
    expect(ASSEMBLY_RESULTS).toContain('handed_over');
  });

  it('reads a listed label’s values, not those of the next label or of parentheses', () => {
    const meaning =
      'results. `reason`: the reason (`success`, …); `outcome`: `published` (acked, `x`), `failed`';
    expect(listedLabelValues(meaning, 'outcome')).toEqual(['published', 'failed']);
    expect(listedLabelValues(meaning, 'reason')).toEqual([]);
    expect(listedLabelValues(meaning, 'kind')).toBeUndefined();
  });
});

describe('citations and links', () => {
  const headingsOf = new Map(docFiles.map((path) => [path, new Set(headings(read(path)))]));
  const anchorsOf = new Map(markdownFiles.map((path) => [path, anchors(read(path))]));

  it('every docs/<file>.md "<Section>" citation in a tracked file names a heading of it', () => {
    const wrong: string[] = [];
    let checked = 0;
    // This file's own fixtures are not citations.
    for (const { path, text } of textFiles.filter((f) => f.path !== SELF)) {
      for (const cited of citations(text)) {
        const target = `docs/${cited.doc}.md`;
        // A bare `x.md "…"` counts only inside docs/, where it names a sibling.
        if (!cited.prefixed && !(path.startsWith('docs/') && headingsOf.has(target))) continue;
        checked++;
        const known = headingsOf.get(target);
        if (known === undefined) wrong.push(`${path}: ${target} does not exist`);
        else if (!known.has(cited.section))
          wrong.push(`${path}: ${target} has no heading "${cited.section}"`);
      }
    }
    expect(wrong).toEqual([]);
    expect(checked).toBeGreaterThan(30);
  });

  it('every relative link in README.md and docs/*.md reaches a tracked file (and heading)', () => {
    const wrong: string[] = [];
    for (const path of markdownFiles) {
      for (const target of links(read(path))) {
        if (/^[a-z]+:/.test(target)) continue;
        const [file = '', anchor] = target.split('#');
        const resolved = file === '' ? path : normalize(join(dirname(path), file));
        const exists =
          trackedSet.has(resolved) || tracked.some((t) => t.startsWith(`${resolved}/`));
        if (!exists) wrong.push(`${path}: ${target} (no such file)`);
        else if (anchor !== undefined && resolved.endsWith('.md')) {
          const targetAnchors = anchorsOf.get(resolved) ?? anchors(read(resolved));
          if (!targetAnchors.has(anchor)) wrong.push(`${path}: ${target} (no such heading)`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('every runbook link of the alert rules reaches a heading of docs/operations.md', () => {
    const wrong: string[] = [];
    for (const { path, text } of textFiles) {
      for (const m of text.matchAll(/docs\/operations\.md#([a-z0-9-]+)/g)) {
        if (!anchorsOf.get('docs/operations.md')?.has(m[1] as string))
          wrong.push(`${path}: ${m[0]}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('the docs name only files and tests that exist', () => {
    const wrong: string[] = [];
    for (const path of markdownFiles) {
      const text = read(path);
      for (const m of text.matchAll(
        /`((?:packages|services|deploy|test|bench|scripts|docs|proto)\/[\w./-]*\w)`/g,
      )) {
        const file = m[1] as string;
        if (!trackedSet.has(file) && !tracked.some((t) => t.startsWith(`${file}/`)))
          wrong.push(`${path}: ${file}`);
      }
      for (const m of text.matchAll(/`([\w.-]+\.test\.ts)`/g)) {
        if (!tracked.some((t) => t.endsWith(`/${m[1]}`))) wrong.push(`${path}: ${m[1]}`);
      }
      // A doc that says a test pins a known defect with `it.fails` needs that test.
      if (text.includes('`it.fails`'))
        if (
          !textFiles.some(
            (f) => f.path !== SELF && /\.test\.ts$/.test(f.path) && f.text.includes('it.fails('),
          )
        )
          wrong.push(`${path}: \`it.fails\`, but no test uses it`);
    }
    expect(wrong).toEqual([]);
  });

  it('no tracked file points outside the repository for its design', () => {
    const outside = [['..', 'shared'].join('/'), ['shared', 'design'].join('/')];
    const wrong = textFiles
      .filter(({ text }) => outside.some((needle) => text.includes(needle)))
      .map(({ path }) => path);
    expect(wrong).toEqual([]);
  });

  it('finds citations as they are written, across comment lines', () => {
    const text = [
      '// see docs/protocol.md "Brokers, and the Mosquitto',
      '// bridge"; and docs/operations.md ("Alerts")',
      'also [design.md "Failure rules"](design.md#failure-rules)',
    ].join('\n');
    expect(citations(text)).toEqual([
      { doc: 'protocol', section: 'Brokers, and the Mosquitto bridge', prefixed: true },
      { doc: 'operations', section: 'Alerts', prefixed: true },
      { doc: 'design', section: 'Failure rules', prefixed: false },
    ]);
  });
});
