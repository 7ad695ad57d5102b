// The figures of docs/performance.md as SVG, from the bench's results JSON: a small bar chart
// writer (grouped or stacked, no dependencies) and the charts built from the rows' details.
// `src/charts-command.ts` reads the JSON and writes the files (`pnpm --filter @mqft/bench charts`).
import type { Row } from './report.js';

export interface Series {
  name: string;
  /** One value per category (missing or non-finite: no bar). */
  values: (number | undefined)[];
}

export interface BarChart {
  title: string;
  /** The y axis label (the values' unit). */
  unit: string;
  categories: string[];
  series: Series[];
  /** Stacked: one bar per category, the series on top of each other; else side by side. */
  stacked?: boolean;
  /** A line under the title (where the numbers come from). */
  subtitle?: string;
  /** A dashed horizontal line at a target value. */
  target?: { value: number; label: string };
}

const WIDTH = 760;
const HEIGHT = 380;
const MARGIN = { top: 56, right: 170, bottom: 64, left: 64 };
const COLORS = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
];

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The smallest of 1, 2, 2.5, 5 × 10^k that is ≥ x (an axis maximum with round ticks). */
export function niceMax(x: number): number {
  if (!(x > 0)) return 1;
  const k = 10 ** Math.floor(Math.log10(x));
  return [1, 2, 2.5, 5, 10].map((m) => m * k).find((v) => v >= x * (1 - 1e-12)) ?? 10 * k;
}

function num(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toPrecision(3).replace(/\.?0+$/, '');
}

const finite = (v: number | undefined): v is number => v !== undefined && Number.isFinite(v);

/** An SVG document: the axis starts at 0, bar heights are proportional to the values. */
export function barChartSvg(chart: BarChart): string {
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const n = Math.max(1, chart.categories.length);
  const totals = chart.categories.map((_, c) => {
    const values = chart.series.map((s) => s.values[c]).filter(finite);
    return chart.stacked ? values.reduce((a, b) => a + Math.max(0, b), 0) : Math.max(0, ...values);
  });
  const max = niceMax(Math.max(0, ...totals, chart.target?.value ?? 0));
  const y = (v: number) => MARGIN.top + plotH - (v / max) * plotH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    `<text x="${MARGIN.left}" y="22" font-size="15" font-weight="bold">${escapeXml(chart.title)}</text>`,
  ];
  if (chart.subtitle) {
    out.push(`<text x="${MARGIN.left}" y="40" fill="#555">${escapeXml(chart.subtitle)}</text>`);
  }
  for (let i = 0; i <= 5; i++) {
    const v = (max * i) / 5;
    const yy = y(v).toFixed(1);
    out.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${yy}" y2="${yy}" stroke="#ddd"/>`,
      `<text x="${MARGIN.left - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle">${num(v)}</text>`,
    );
  }
  out.push(
    `<text transform="translate(16 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(chart.unit)}</text>`,
  );
  const group = plotW / n;
  chart.categories.forEach((category, c) => {
    const x0 = MARGIN.left + c * group;
    out.push(
      `<text x="${(x0 + group / 2).toFixed(1)}" y="${MARGIN.top + plotH + 18}" text-anchor="middle">${escapeXml(category)}</text>`,
    );
    let base = 0;
    const barW = chart.stacked ? group * 0.6 : (group * 0.8) / Math.max(1, chart.series.length);
    chart.series.forEach((series, s) => {
      const v = series.values[c];
      if (!finite(v)) return;
      const value = Math.max(0, v);
      const x = chart.stacked ? x0 + group * 0.2 : x0 + group * 0.1 + s * barW;
      const top = y(base + value);
      const height = y(base) - top;
      out.push(
        `<rect class="bar" x="${x.toFixed(1)}" y="${top.toFixed(1)}" width="${barW.toFixed(1)}" height="${height.toFixed(1)}" fill="${COLORS[s % COLORS.length]}" data-value="${value}"><title>${escapeXml(`${category}, ${series.name}: ${num(value)} ${chart.unit}`)}</title></rect>`,
      );
      if (chart.stacked) base += value;
    });
    if (chart.stacked && base > 0) {
      out.push(
        `<text x="${(x0 + group / 2).toFixed(1)}" y="${(y(base) - 4).toFixed(1)}" text-anchor="middle">${num(base)}</text>`,
      );
    }
  });
  out.push(
    `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${y(0)}" y2="${y(0)}" stroke="#333"/>`,
  );
  if (chart.target) {
    const ty = y(chart.target.value).toFixed(1);
    out.push(
      `<line class="target" x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${ty}" y2="${ty}" stroke="#c00" stroke-dasharray="6 4"/>`,
    );
  }
  const lx = WIDTH - MARGIN.right + 16;
  chart.series.forEach((series, s) => {
    const ly = MARGIN.top + s * 18;
    out.push(
      `<rect x="${lx}" y="${ly}" width="12" height="12" fill="${COLORS[s % COLORS.length]}"/>`,
      `<text x="${lx + 18}" y="${ly + 10}">${escapeXml(series.name)}</text>`,
    );
  });
  if (chart.target) {
    const ly = MARGIN.top + chart.series.length * 18 + 6;
    out.push(
      `<line x1="${lx}" x2="${lx + 12}" y1="${ly}" y2="${ly}" stroke="#c00" stroke-dasharray="3 2"/>`,
      `<text x="${lx + 18}" y="${ly + 4}" fill="#c00">${escapeXml(chart.target.label)}</text>`,
    );
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** A results file as report.ts writes it. */
export interface Results {
  scenario: string;
  at: string;
  rows: Row[];
}

/** Results by scenario name, from the current run and optionally an earlier one to compare. */
export interface ChartInput {
  current: Record<string, Results>;
  baseline?: Record<string, Results>;
}

/** ingest0, ingest1 → ingest; the bench process is not a stage. */
function byStage(values: Record<string, number>): Record<string, number> {
  const stages: Record<string, number> = {};
  for (const [name, v] of Object.entries(values)) {
    if (name.startsWith('bench')) continue;
    const stage = name.replace(/\d+$/, '');
    stages[stage] = (stages[stage] ?? 0) + v;
  }
  return stages;
}

const STAGE_ORDER = ['mosquitto', 'ingest', 'nats', 'redis', 'assembler', 's3rver'];

/** Stacked bars of CPU by stage: one bar per (case, before/after). */
function stackedByStage(
  title: string,
  unit: string,
  subtitle: string,
  bars: { label: string; stages: Record<string, number> }[],
  target: BarChart['target'],
): BarChart | undefined {
  if (bars.length === 0) return undefined;
  // A stage with no CPU in any bar (s3rver under the file backend) is left out.
  const names = new Set(
    bars.flatMap((b) => Object.keys(b.stages).filter((k) => (b.stages[k] ?? 0) > 0)),
  );
  const stages = [
    ...STAGE_ORDER.filter((s) => names.has(s)),
    ...[...names].filter((s) => !STAGE_ORDER.includes(s)),
  ];
  return {
    title,
    unit,
    subtitle,
    stacked: true,
    ...(target ? { target } : {}),
    categories: bars.map((b) => b.label),
    series: stages.map((stage) => ({ name: stage, values: bars.map((b) => b.stages[stage]) })),
  };
}

function runs(input: ChartInput, scenario: string): { label: string; results: Results }[] {
  const list: { label: string; results: Results }[] = [];
  const before = input.baseline?.[scenario];
  const after = input.current[scenario];
  if (before) list.push({ label: 'before', results: before });
  if (after) list.push({ label: before ? 'after' : '', results: after });
  return list;
}

const labelled = (base: string, label: string) => (label ? `${base} ${label}` : base);

/** When the scenario's runs were made: "run 2026-12-02" or "before 2026-11-26, after …". */
function when(input: ChartInput, scenario: string): string {
  const list = runs(input, scenario);
  return list
    .map(({ label, results }) => `${label || 'run'} ${results.at.slice(0, 10)}`)
    .join(', ');
}

/** The part of the first matching row's case before `separator` (its shape, e.g. "1024 MiB"). */
function shape(input: ChartInput, scenario: string, match: (r: Row) => boolean, separator: string) {
  const row = input.current[scenario]?.rows.find(match);
  return row?.case.split(separator)[0] ?? '';
}

/** A row's string detail (e.g. its backend), else `fallback`. */
function textDetail(row: Row, key: string, fallback: string): string {
  const value = row.details?.[key];
  return typeof value === 'string' ? value : fallback;
}

/** throughput-one-file: CPU-s per GiB by stage, file and s3 (before/after). */
export function cpuPerGiBChart(input: ChartInput): BarChart | undefined {
  const bars = runs(input, 'throughput-one-file').flatMap(({ label, results }) =>
    results.rows
      .filter((r) => r.case.includes('pipeline CPU per GiB'))
      .map((r) => ({
        label: labelled(textDetail(r, 'backend', r.case), label),
        stages: byStage((r.details?.['cpuSecondsPerGiB'] ?? {}) as Record<string, number>),
      })),
  );
  return stackedByStage(
    'CPU per GiB by stage, one big file',
    'CPU-s per GiB',
    `throughput-one-file, ${shape(input, 'throughput-one-file', (r) => r.case.includes('pipeline CPU'), ',')} file; s3rver is the storage (${when(input, 'throughput-one-file')})`,
    bars,
    { value: 16, label: 'target ≤ 16 (w/o s3rver)' },
  );
}

/** fleet: CPU-ms per 16 KiB file by stage (before/after). */
export function cpuPerFileChart(input: ChartInput): BarChart | undefined {
  const bars = runs(input, 'fleet').flatMap(({ label, results }) =>
    results.rows
      .filter((r) => r.case.startsWith('pipeline CPU per 16 KiB file'))
      .map((r) => ({
        label: labelled('fleet', label),
        stages: byStage((r.details?.['cpuMsPerFile'] ?? {}) as Record<string, number>),
      })),
  );
  return stackedByStage(
    'CPU per small file by stage, fleet',
    'CPU-ms per 16 KiB file',
    `fleet, ${shape(input, 'fleet', (r) => r.case.includes('completion'), ':')}, file backend (${when(input, 'fleet')})`,
    bars,
    { value: 3.5, label: 'target ≤ 3.5' },
  );
}

/** latency-by-size: fin → result seconds by file size, one series per backend (before/after). */
export function finToResultBySizeChart(input: ChartInput): BarChart | undefined {
  const points = runs(input, 'latency-by-size').flatMap(({ label, results }) =>
    results.rows
      .filter((r) => typeof r.details?.['mib'] === 'number')
      .map((r) => ({
        series: labelled(textDetail(r, 'backend', '?'), label),
        mib: r.details?.['mib'] as number,
        seconds: r.value,
      })),
  );
  if (points.length === 0) return undefined;
  const sizes = [...new Set(points.map((p) => p.mib))].sort((a, b) => a - b);
  const names = [...new Set(points.map((p) => p.series))];
  return {
    title: 'fin → result by file size',
    unit: 's',
    subtitle: `latency-by-size: from the fin leaving the device to its result (${when(input, 'latency-by-size')})`,
    target: { value: 1.5, label: 'target ≤ 1.5 s' },
    categories: sizes.map((mib) => `${mib} MiB`),
    series: names.map((name) => ({
      name,
      values: sizes.map((mib) => points.find((p) => p.series === name && p.mib === mib)?.seconds),
    })),
  };
}

const PERCENTILES = ['p10', 'p25', 'p50', 'p75', 'p90', 'p95', 'p99', 'max'] as const;

/** fleet: the fin → result distribution as percentiles, in seconds (before/after). */
export function fleetLatencyChart(input: ChartInput): BarChart | undefined {
  const series = runs(input, 'fleet').flatMap(({ label, results }) => {
    const row = results.rows.find((r) => r.case === 'fin → result p99');
    const dist = row?.details?.['finToResult'] as
      { percentiles: Record<string, number>; count: number } | undefined;
    if (!dist) return [];
    return [
      {
        name: label || `${dist.count} files`,
        values: PERCENTILES.map((p) => (dist.percentiles[p] ?? NaN) / 1000),
      },
    ];
  });
  if (series.length === 0) return undefined;
  return {
    title: 'fleet: fin → result distribution',
    unit: 's',
    subtitle: `percentiles over every file of the fleet, ${shape(input, 'fleet', (r) => r.case.includes('completion'), ':')} (${when(input, 'fleet')})`,
    target: { value: 8, label: 'target: p99 ≤ 8 s' },
    categories: [...PERCENTILES],
    series,
  };
}

/** The charts docs/performance.md shows, by file name (those without data are absent). */
export function buildCharts(input: ChartInput): Record<string, string> {
  const charts: Record<string, BarChart | undefined> = {
    'perf-cpu-per-gib.svg': cpuPerGiBChart(input),
    'perf-cpu-per-file.svg': cpuPerFileChart(input),
    'perf-fin-to-result-by-size.svg': finToResultBySizeChart(input),
    'perf-fleet-latency.svg': fleetLatencyChart(input),
  };
  return Object.fromEntries(
    Object.entries(charts).flatMap(([file, chart]) => (chart ? [[file, barChartSvg(chart)]] : [])),
  );
}
