/**
 * The failover soak: runs test/cluster/failover.int.test.ts with many seeds (the bar is
 * at least 5 seeded runs × 30 concurrent uploads per kind of kill), which is too long for CI.
 *
 *   pnpm exec tsx test/cluster/failover-soak.ts [runs=5] [uploads=30] [firstSeed=random]
 *
 * Every run prints its seed; a failure names it, and `MQFT_CLUSTER_SEEDS=<seed>` repeats it.
 * MQFT_CLUSTER_KINDS, MQFT_CLUSTER_DEBUG and MQFT_CLUSTER_LOG_DIR pass through (see the test).
 */
import { spawnSync } from 'node:child_process';
import { REPO_ROOT } from '@mqft/test-support';

const runs = Number(process.argv[2] ?? 5);
const uploads = Number(process.argv[3] ?? 30);
const first = Number(process.argv[4] ?? Math.floor(Math.random() * 1_000_000));
const seeds = Array.from({ length: runs }, (_, i) => first + i);
const failed: number[] = [];

for (const seed of seeds) {
  console.log(`=== failover soak: seed ${seed} (${uploads} uploads per kill)`);
  const result = spawnSync(
    'pnpm',
    ['exec', 'vitest', 'run', '--project', 'integration', 'test/cluster/failover.int.test.ts'],
    {
      cwd: REPO_ROOT,
      stdio: 'inherit',
      env: {
        ...process.env,
        MQFT_CLUSTER_FAILOVER: '1',
        MQFT_CLUSTER_SEEDS: String(seed),
        MQFT_CLUSTER_UPLOADS: String(uploads),
      },
    },
  );
  if (result.status !== 0) failed.push(seed);
}

console.log(
  failed.length === 0
    ? `failover soak: all ${runs} seeds passed (${seeds.join(', ')})`
    : `failover soak: FAILED seeds ${failed.join(', ')} of ${seeds.join(', ')}`,
);
process.exit(failed.length === 0 ? 0 : 1);
