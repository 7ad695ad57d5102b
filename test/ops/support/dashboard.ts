import { readFileSync } from 'node:fs';
import { DASHBOARD } from './promql.js';

interface Panel {
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: { expr: string; refId: string }[];
}

export interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string; type: string }[] };
}

export const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;

/** The queries with Grafana's variables replaced as Grafana would, for PromQL tools. */
export function dashboardQueries(): { panel: string; expr: string }[] {
  return dashboard.panels.flatMap((panel) =>
    (panel.targets ?? []).map((t) => ({
      panel: panel.title,
      expr: t.expr.replace(/\$__rate_interval/g, '1m').replace(/\$namespace/g, '.*'),
    })),
  );
}
