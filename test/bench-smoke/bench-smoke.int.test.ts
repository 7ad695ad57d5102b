import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@mqft/test-support';

// Every benchmark scenario with tiny sizes (`pnpm bench --smoke`), so they cannot rot, with
// --cpu-prof (each service writes a profile) and the charts drawn from the run's JSON. Speed
// targets are never asserted here: only that each scenario ran and measured something.
const SCENARIOS = [
  'throughput-one-file',
  'latency-by-size',
  'many-small-files',
  'fleet',
  'fleet-backpressure',
  'memory',
  'cost-per-segment',
  'scaling',
  'scaling-clusters',
];
const BENCH = join(REPO_ROOT, 'bench');

interface Row {
  scenario: string;
  case: string;
  value: number;
}

describe('pnpm bench --smoke', () => {
  it('runs every scenario and each reports positive numbers', { timeout: 240_000 }, async () => {
    const started = Date.now();
    const tmp = await mkdtemp(join(tmpdir(), 'mqft-bench-smoke-'));
    // Not there yet: the bench creates it.
    const profiles = join(tmp, 'profiles');
    // The integration project's global setup has built dist/ already.
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'src/main.ts', '--smoke', '--no-build', '--cpu-prof', profiles],
      {
        cwd: BENCH,
        env: { ...process.env, BENCH_SMALL_TUNINGS: 'defaults' },
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    const seconds = (Date.now() - started) / 1000;
    console.log(
      stdout.split('## all scenarios')[1] ?? stdout,
      `\nsmoke run: ${seconds.toFixed(1)} s`,
    );
    for (const scenario of SCENARIOS) {
      const file = join(BENCH, 'results', `${scenario}.smoke.json`);
      const body = JSON.parse(await readFile(file, 'utf8')) as { at: string; rows: Row[] };
      expect(Date.parse(body.at), `${scenario} written by this run`).toBeGreaterThanOrEqual(
        started,
      );
      expect(body.rows.length, scenario).toBeGreaterThan(0);
      expect(body.rows[0]?.value, `${scenario}: ${body.rows[0]?.case}`).toBeGreaterThan(0);
      for (const row of body.rows) {
        expect(Number.isFinite(row.value) && row.value >= 0, `${scenario}: ${row.case}`).toBe(true);
      }
    }

    const written = await readdir(profiles);
    for (const service of ['ingest', 'assembler']) {
      const file = written.find((f) => f.startsWith(`${service}-`) && f.endsWith('.cpuprofile'));
      expect(file, `a ${service} profile in ${written.join(', ')}`).toBeDefined();
      const profile = JSON.parse(await readFile(join(profiles, file!), 'utf8')) as {
        samples: number[];
      };
      expect(profile.samples.length, `${file} has samples`).toBeGreaterThan(0);
    }

    const charts = join(tmp, 'charts');
    await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'src/charts-command.ts', '--smoke', '--out-dir', charts],
      { cwd: BENCH },
    );
    expect((await readdir(charts)).sort()).toEqual([
      'perf-cpu-per-file.svg',
      'perf-cpu-per-gib.svg',
      'perf-fin-to-result-by-size.svg',
      'perf-fleet-latency.svg',
    ]);
    await rm(tmp, { recursive: true, force: true });
  });
});
