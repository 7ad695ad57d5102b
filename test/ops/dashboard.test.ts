import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { metricsCatalogue } from '../../deploy/tools/metrics-catalogue.js';
import { dashboard, dashboardQueries } from './support/dashboard.js';
import {
  FOREIGN_SERIES,
  knownSeries,
  metricNames,
  promtool,
  PROMTOOL_MISSING,
  runPromtool,
} from './support/promql.js';

// The Grafana dashboard: loadable JSON whose every query is valid PromQL over metrics the
// services expose, and which shows every metric of the catalogue somewhere.

describe('Grafana dashboard (deploy/grafana/mqft.json)', () => {
  it('has a stable uid, a Prometheus data source variable and a namespace variable', () => {
    expect(dashboard.uid).toBe('mqft');
    const variables = dashboard.templating.list.map((v) => `${v.name}:${v.type}`);
    expect(variables).toEqual(['datasource:datasource', 'namespace:query']);
    for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) {
      expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
    }
  });

  it('lays panels out on the 24-column grid without overlaps', () => {
    const cells = new Set<string>();
    for (const { title, gridPos } of dashboard.panels) {
      expect(gridPos.x + gridPos.w, title).toBeLessThanOrEqual(24);
      for (let x = gridPos.x; x < gridPos.x + gridPos.w; x++) {
        for (let y = gridPos.y; y < gridPos.y + gridPos.h; y++) {
          expect(cells.has(`${x},${y}`), `${title} overlaps at ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
    }
  });

  it('queries only metrics the services expose, and filters by the namespace variable', async () => {
    const known = knownSeries(await metricsCatalogue());
    for (const panel of dashboard.panels) {
      for (const target of panel.targets ?? []) {
        const names = metricNames(target.expr);
        expect(names.length, panel.title).toBeGreaterThan(0);
        for (const name of names) {
          expect(known.has(name) || FOREIGN_SERIES.has(name), `${panel.title}: ${name}`).toBe(true);
        }
        expect(target.expr, panel.title).toContain('namespace=~"$namespace"');
      }
    }
  });

  it('shows every metric of every service', async () => {
    const shown = new Set(dashboardQueries().flatMap((q) => metricNames(q.expr)));
    for (const metric of (await metricsCatalogue()).filter((m) => !m.process)) {
      const names = metric.type === 'histogram' ? [`${metric.name}_bucket`] : [metric.name];
      expect(
        names.some((n) => shown.has(n)),
        `${metric.name} is on the dashboard`,
      ).toBe(true);
    }
  });

  it('is valid PromQL throughout (`promtool check rules` on its queries)', async (ctx) => {
    if (!promtool()) return ctx.skip(true, PROMTOOL_MISSING);
    const dir = await mkdtemp(join(tmpdir(), 'mqft-dashboard-'));
    try {
      const rules = dashboardQueries().map((q, i) => ({
        record: `dashboard:query:${i}`,
        expr: q.expr,
      }));
      await writeFile(
        join(dir, 'queries.yml'),
        stringify({ groups: [{ name: 'dashboard', rules }] }),
      );
      expect(runPromtool(['check', 'rules', join(dir, 'queries.yml')])).toContain(
        `SUCCESS: ${rules.length} rules found`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
