import { execFileSync } from 'node:child_process';
import { REPO_ROOT } from '@mqft/test-support';

/** Vitest global setup of the integration project: bundles the services from the sources under test. */
export default function buildServices(): void {
  execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: REPO_ROOT, stdio: 'inherit' });
}
