import { describe, expect, it } from 'vitest';
import {
  barChartSvg,
  buildCharts,
  niceMax,
  type BarChart,
  type Results,
} from '../../bench/src/charts.js';
import { latencyDistribution } from '../../bench/src/device.js';
import type { Row } from '../../bench/src/report.js';

/** Well-formed XML (no parser in the workspace): balanced tags, quoted attributes, escaped text. */
function expectWellFormed(xml: string): void {
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/y;
  const rawAmpersand = /&(?!#\d+;|amp;|lt;|gt;|quot;|apos;)/;
  const stack: string[] = [];
  let roots = 0;
  let at = 0;
  for (;;) {
    const lt = xml.indexOf('<', at);
    const text = xml.slice(at, lt === -1 ? undefined : lt);
    expect(text, `text at ${at}`).not.toMatch(rawAmpersand);
    if (stack.length === 0) expect(text.trim(), 'text outside the root').toBe('');
    if (lt === -1) break;
    tag.lastIndex = lt;
    const m = tag.exec(xml);
    expect(m, `a well-formed tag at ${lt}: ${xml.slice(lt, lt + 60)}`).not.toBeNull();
    const [whole, close, name, attrs, selfClose] = m!;
    expect(attrs, `attributes of <${name}>`).not.toMatch(rawAmpersand);
    if (close) {
      expect(stack.pop(), `</${name}> closes what is open`).toBe(name);
    } else {
      if (stack.length === 0) roots += 1;
      if (!selfClose) stack.push(name!);
    }
    at = lt + whole.length;
  }
  expect(stack, 'every tag closed').toEqual([]);
  expect(roots, 'one root element').toBe(1);
}

/** [value, height] of every bar, in document order. */
function bars(svg: string): [number, number][] {
  return [
    ...svg.matchAll(/<rect class="bar"[^>]* height="([\d.]+)"[^>]* data-value="([\d.e+-]+)"/g),
  ].map((m) => [Number(m[2]), Number(m[1])]);
}

const chart: BarChart = {
  title: 'a <title> & "quotes"',
  unit: 'ms',
  categories: ['x < y', 'b & c'],
  series: [
    { name: 'one', values: [1, 2] },
    { name: "two's", values: [4, undefined] },
  ],
};

describe('barChartSvg', () => {
  it('writes well-formed SVG, escaping every label', () => {
    for (const stacked of [false, true]) {
      const svg = barChartSvg({ ...chart, stacked, target: { value: 3, label: '≤ 3 & <' } });
      expectWellFormed(svg);
      expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
      expect(svg).toContain('a &#60;title&#62; &#38; &#34;quotes&#34;');
    }
    expect(() => expectWellFormed('<svg><g></svg>')).toThrow();
    expect(() => expectWellFormed('<svg>a & b</svg>')).toThrow();
  });

  it('draws bar heights proportional to the values, a missing value as no bar', () => {
    const grouped = bars(barChartSvg(chart));
    expect(grouped.map(([v]) => v)).toEqual([1, 4, 2]);
    const perUnit = grouped[0]![1];
    expect(perUnit).toBeGreaterThan(0);
    for (const [value, height] of grouped) expect(height).toBeCloseTo(value * perUnit, 0);
  });

  it('stacks bars on each other; the axis holds the tallest stack', () => {
    const svg = barChartSvg({ ...chart, stacked: true });
    const stacked = bars(svg);
    expect(stacked.map(([v]) => v)).toEqual([1, 4, 2]);
    const perUnit = stacked[0]![1];
    for (const [value, height] of stacked) expect(height).toBeCloseTo(value * perUnit, 0);
    const ys = [...svg.matchAll(/<rect class="bar"[^>]* y="([\d.]+)"/g)].map((m) => Number(m[1]));
    // The second series sits on the first: its bottom is the first bar's top.
    expect(ys[1]! + stacked[1]![1]).toBeCloseTo(ys[0]!, 0);
    expect(svg).toMatch(/>5<\/text>/); // the stack's total, and the axis max (niceMax(5) = 5)
  });

  it('rounds the axis up to 1, 2, 2.5 or 5 × 10^k', () => {
    expect([0, 0.3, 1, 3, 7, 16.2, 41.7, 250].map(niceMax)).toEqual([
      1, 0.5, 1, 5, 10, 20, 50, 250,
    ]);
  });
});

function results(scenario: string, rows: Partial<Row>[]): Results {
  return {
    scenario,
    at: '2026-12-02T00:00:00Z',
    rows: rows.map((r) => ({ scenario, case: '', value: 0, unit: '', ...r })),
  };
}

const runResults = (scale: number): Record<string, Results> => ({
  'throughput-one-file': results('throughput-one-file', [
    { case: '1024 MiB, file', value: 30 },
    {
      case: '1024 MiB, file: pipeline CPU per GiB (broker + …)',
      details: {
        backend: 'file',
        cpuSecondsPerGiB: {
          nats: 10 * scale,
          ingest0: 4 * scale,
          ingest1: 4,
          'bench (devices)': 9,
        },
      },
    },
  ]),
  'latency-by-size': results('latency-by-size', [
    { case: '64 MiB file', value: 0.5 * scale, details: { backend: 'file', mib: 64 } },
    { case: '2048 MiB file', value: 1 * scale, details: { backend: 'file', mib: 2048 } },
    { case: '64 MiB s3', value: 0.7, details: { backend: 's3', mib: 64 } },
    { case: 'flat', value: 1, baseline: 0.5, ratio: 2 },
  ]),
  fleet: results('fleet', [
    { case: 'pipeline CPU per 16 KiB file (…)', details: { cpuMsPerFile: { assembler0: 5 } } },
    {
      case: 'fin → result p99',
      details: { finToResult: latencyDistribution([1000, 2000, 3000 * scale]) },
    },
  ]),
});

describe('buildCharts', () => {
  it('draws the three figures of docs/performance.md from a run, before beside after', () => {
    const only = buildCharts({ current: runResults(1) });
    expect(Object.keys(only).sort()).toEqual([
      'perf-cpu-per-file.svg',
      'perf-cpu-per-gib.svg',
      'perf-fin-to-result-by-size.svg',
      'perf-fleet-latency.svg',
    ]);
    for (const svg of Object.values(only)) expectWellFormed(svg);
    // CPU by stage: ingest0 + ingest1 are one stage; the bench process is not a stage.
    expect(bars(only['perf-cpu-per-gib.svg']!).map(([v]) => v)).toEqual([8, 10]);
    expect(only['perf-cpu-per-gib.svg']).not.toContain('bench');
    // fin → result by size: 2 sizes × 2 backends, s3 has no 2048 MiB point.
    expect(bars(only['perf-fin-to-result-by-size.svg']!).map(([v]) => v)).toEqual([0.5, 0.7, 1]);

    const compared = buildCharts({ current: runResults(2), baseline: runResults(1) });
    expect(compared['perf-cpu-per-gib.svg']).toContain('file before');
    expect(compared['perf-cpu-per-gib.svg']).toContain('file after');
    expect(bars(compared['perf-cpu-per-gib.svg']!).map(([v]) => v)).toEqual([8, 10, 12, 20]);
    expect(compared['perf-fleet-latency.svg']).toMatch(/>before<\/text>[\s\S]*>after<\/text>/);
  });

  it('leaves out a chart whose scenario did not run', () => {
    expect(Object.keys(buildCharts({ current: {} }))).toEqual([]);
  });
});

describe('latencyDistribution', () => {
  it('gives percentiles and a histogram of round buckets holding every value', () => {
    const values = Array.from({ length: 1000 }, (_, i) => i + 1);
    const d = latencyDistribution(values);
    expect(d.percentiles.p50).toBe(500);
    expect(d.percentiles.p99).toBe(990);
    expect(d.percentiles.max).toBe(1000);
    expect(d.histogram.bucketMs).toBe(50);
    expect(d.histogram.counts.reduce((a, b) => a + b, 0)).toBe(1000);
  });
});
