// The chaos soak: runs the chaos scenarios (test/chaos/harness.ts) round after round, with
// seeds seed, seed+1, …, for a number of minutes, and prints a summary. Not a test.
//
//   pnpm exec tsx test/chaos/soak.ts [--minutes 10] [--seed N] [--scenarios a,b]
//                                    [--devices 10] [--uploads 5] [--max-mib 20] [--faults 2]
//
// A round runs every scenario once (the last round may end after the deadline). Exits 1 if any run lost, duplicated or left anything behind; each failure names its seed,
// and `--seed N --scenarios <scenario> --minutes 0` replays exactly that run.
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '@mqft/test-support';
import { formatReport, runChaos, SCENARIOS, type ChaosReport, type Scenario } from './harness.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    seed: { type: 'string' },
    scenarios: { type: 'string', default: SCENARIOS.join(',') },
    devices: { type: 'string', default: '10' },
    uploads: { type: 'string', default: '5' },
    'max-mib': { type: 'string', default: '20' },
    faults: { type: 'string', default: '2' },
    'deadline-s': { type: 'string', default: '300' },
  },
});

const scenarios = values.scenarios.split(',').map((s) => {
  if (!(SCENARIOS as readonly string[]).includes(s)) {
    throw new Error(`unknown scenario ${s}; known: ${SCENARIOS.join(', ')}`);
  }
  return s as Scenario;
});
const minutes = Number(values.minutes);
let seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
const log = (line: string) => process.stdout.write(`${line}\n`);

execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: REPO_ROOT, stdio: 'inherit' });

const reports: ChaosReport[] = [];
const endAt = Date.now() + minutes * 60_000;
log(`soak: ${minutes} min, scenarios ${scenarios.join(', ')}, first seed ${seed}`);
do {
  for (const scenario of scenarios) {
    const report = await runChaos({
      scenario,
      seed,
      devices: Number(values.devices),
      uploadsPerDevice: Number(values.uploads),
      maxSize: Number(values['max-mib']) * 1024 * 1024,
      faults: Number(values.faults),
      deadlineMs: Number(values['deadline-s']) * 1000,
      log,
    });
    reports.push(report);
    log(formatReport(report));
  }
  seed++;
} while (Date.now() < endAt);

log('\n=== soak summary ===');
for (const scenario of scenarios) {
  const runs = reports.filter((r) => r.scenario === scenario);
  if (runs.length === 0) continue;
  const failed = runs.filter((r) => r.problems.length > 0);
  const recoveries = runs.flatMap((r) => r.faults.map((f) => f.recoveryMs ?? 0));
  const max = recoveries.length > 0 ? Math.max(...recoveries) : 0;
  const median = recoveries.sort((a, b) => a - b)[Math.floor(recoveries.length / 2)] ?? 0;
  log(
    `${scenario.padEnd(20)} runs ${runs.length} (seeds ${runs.map((r) => r.seed).join(',')}), ` +
      `failed ${failed.length}${failed.length ? ` (seeds ${failed.map((r) => r.seed).join(',')})` : ''}, ` +
      `uploads ${runs.reduce((n, r) => n + r.uploads, 0)}, ` +
      `${(runs.reduce((n, r) => n + r.bytes, 0) / 2 ** 20).toFixed(0)} MiB, faults ${recoveries.length}, ` +
      `recovery median ${median} ms max ${max} ms`,
  );
}
const failures = reports.filter((r) => r.problems.length > 0);
process.exit(failures.length > 0 ? 1 : 0);
