// `pnpm bench [--smoke] [--scenario name[,name]] [--cpu-prof dir]`: runs the scenarios in order,
// prints one table row per measured case and writes bench/results/<scenario>.json.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '@mqft/test-support';
import type { Context, Scenario } from './context.js';
import { serviceOverrides, startInfra } from './infra.js';
import { header, line, writeResults, type Row } from './report.js';
import { SCENARIOS } from './scenarios/index.js';

const { values } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    scenario: { type: 'string', multiple: true },
    'cpu-prof': { type: 'string' },
    'no-build': { type: 'boolean', default: false },
  },
});
const names = (values.scenario ?? Object.keys(SCENARIOS)).flatMap((s) => s.split(','));
const unknown = names.filter((n) => !(n in SCENARIOS));
if (unknown.length > 0) {
  console.error(
    `unknown scenario(s) ${unknown.join(', ')}; known: ${Object.keys(SCENARIOS).join(', ')}`,
  );
  process.exit(2);
}
if (!values['no-build']) {
  execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: REPO_ROOT, stdio: 'inherit' });
}

// Absolute: the services run from the repository root, not from bench/.
const cpuProfDir = values['cpu-prof'] === undefined ? undefined : resolve(values['cpu-prof']);
if (cpuProfDir) mkdirSync(cpuProfDir, { recursive: true });

const started = performance.now();
const infra = await startInfra();
const ctx: Context = {
  smoke: values.smoke,
  infra,
  cpuProfDir,
  log: (message) =>
    console.error(`[bench ${((performance.now() - started) / 1000).toFixed(1)}s] ${message}`),
};
const overrides = Object.entries(serviceOverrides()).map(([k, v]) => `${k}=${v}`);
if (overrides.length > 0) ctx.log(`services run with ${overrides.join(' ')} (not the defaults)`);
let failed = false;
const all: Row[] = [];
try {
  for (const name of names) {
    const scenario = SCENARIOS[name] as Scenario;
    ctx.log(`scenario ${name}`);
    try {
      const rows = await scenario(ctx);
      all.push(...rows);
      const file = await writeResults(name, ctx.smoke, rows);
      console.log(header());
      for (const row of rows) console.log(line(row));
      ctx.log(`wrote ${file}`);
    } catch (err) {
      failed = true;
      console.error(`scenario ${name} failed:`, err);
    }
  }
} finally {
  await infra.stop();
}
console.log(`\n## all scenarios (${((performance.now() - started) / 1000).toFixed(0)} s)\n`);
console.log(header());
for (const row of all) console.log(line(row));
process.exit(failed ? 1 : 0);
