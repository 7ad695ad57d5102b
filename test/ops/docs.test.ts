import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SERVICE_RUNTIME_ENV } from '@mqft/test-support';
import {
  configRows,
  configTable,
  OPERATIONS_MD,
  tableInDoc,
} from '../../deploy/tools/config-table.js';
import { metricsCatalogue, seriesNames } from '../../deploy/tools/metrics-catalogue.js';

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
      expect(row, `${metric.name} (${metric.services}) has a row`).toBeDefined();
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
