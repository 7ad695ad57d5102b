import { defineConfig } from 'vitest/config';

// `unit` is pure and fast; `integration` talks to real servers (Mosquitto, NATS, Redis,
// s3rver) that the tests start or find on their default ports; `isolated` holds the tests
// that bound a process's memory: like benchmarks, they run alone, after the others, so that
// no other test's load changes what they measure.
const ISOLATED = ['test/e2e/large-file.int.test.ts'];

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: [
            'packages/*/test/**/*.test.ts',
            'services/*/test/**/*.test.ts',
            'test/**/*.test.ts',
          ],
          exclude: ['**/*.int.test.ts', '**/node_modules/**'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['**/*.int.test.ts'],
          // Services run as real processes from their bundles: build them once per run.
          globalSetup: ['test/build-services.ts'],
          exclude: ['**/node_modules/**', ...ISOLATED],
          testTimeout: 120_000,
          hookTimeout: 60_000,
          fileParallelism: true,
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          name: 'isolated',
          include: ISOLATED,
          globalSetup: ['test/build-services.ts'],
          testTimeout: 300_000,
          hookTimeout: 60_000,
          fileParallelism: false,
          maxWorkers: 1,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
