// `pnpm --filter @mqft/bench charts [--smoke] [--results-dir DIR] [--baseline-dir DIR]
// [--out-dir DIR]`: writes docs/perf-*.svg from the results JSON of the last run (bench/results/), with an
// earlier run's JSON (`--baseline-dir`, e.g. a copy of bench/results/ before a change) as
// "before" bars beside them.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '@mqft/test-support';
import { buildCharts, type Results } from './charts.js';
import { RESULTS_DIR } from './report.js';

const { values } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    'results-dir': { type: 'string' },
    'baseline-dir': { type: 'string' },
    'out-dir': { type: 'string' },
  },
});

/** Every `<scenario>.json` (or `.smoke.json`) of a directory, by scenario. */
async function readResults(dir: string, smoke: boolean): Promise<Record<string, Results>> {
  const suffix = smoke ? '.smoke.json' : '.json';
  const files = (await readdir(dir)).filter(
    (f) => f.endsWith(suffix) && (smoke || !f.endsWith('.smoke.json')),
  );
  const results: Record<string, Results> = {};
  for (const file of files) {
    const body = JSON.parse(await readFile(join(dir, file), 'utf8')) as Results;
    results[body.scenario] = body;
  }
  return results;
}

const current = await readResults(resolve(values['results-dir'] ?? RESULTS_DIR), values.smoke);
const baselineDir = values['baseline-dir'];
const baseline = baselineDir ? await readResults(resolve(baselineDir), values.smoke) : undefined;
const outDir = resolve(values['out-dir'] ?? join(REPO_ROOT, 'docs'));
await mkdir(outDir, { recursive: true });
const charts = buildCharts({ current, ...(baseline ? { baseline } : {}) });
for (const [file, svg] of Object.entries(charts)) {
  await writeFile(join(outDir, file), svg);
  console.log(`wrote ${join(outDir, file)}`);
}
if (Object.keys(charts).length === 0) {
  console.error('no chart: run throughput-one-file, latency-by-size or fleet first');
  process.exit(1);
}
