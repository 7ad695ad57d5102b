import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '@mqft/test-support';
import type { CatalogueMetric } from '../../../deploy/tools/metrics-catalogue.js';
import { seriesNames } from '../../../deploy/tools/metrics-catalogue.js';

export const RULES = join(REPO_ROOT, 'deploy/prometheus/rules/mqft.rules.yml');
export const RULE_TESTS = join(REPO_ROOT, 'deploy/prometheus/rules/mqft.rules.test.yml');
export const PROMETHEUS_YML = join(REPO_ROOT, 'deploy/prometheus/prometheus.yml');
export const DASHBOARD = join(REPO_ROOT, 'deploy/grafana/mqft.json');

/** Series that come from Prometheus itself or from kube-state-metrics, not from mqft. */
export const FOREIGN_SERIES = new Set(['up', 'kube_pod_status_ready']);

/** promtool's path, or undefined when the Debian package `prometheus` is not installed. */
export function promtool(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

export const PROMTOOL_MISSING =
  'promtool is not installed (Debian package `prometheus`, which scripts/setup installs)';

/** Runs promtool; returns its output, throws with it on failure. */
export function runPromtool(args: string[], cwd = REPO_ROOT): string {
  try {
    return execFileSync(promtool() ?? 'promtool', args, { cwd, encoding: 'utf8', stdio: 'pipe' });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `promtool ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? e.message}`,
    );
  }
}

/** The metric names a PromQL expression mentions (mqft_*, up, kube_*). */
export function metricNames(expr: string): string[] {
  return [
    ...new Set(expr.match(/\b(?:mqft_[a-z0-9_]+|up|kube_[a-z0-9_]+)\b(?=\s*[{[)]|\s*$)/g) ?? []),
  ];
}

/** Every series name the services expose. */
export function knownSeries(catalogue: CatalogueMetric[]): Set<string> {
  return new Set(catalogue.flatMap(seriesNames));
}

export interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface RuleGroup {
  name: string;
  rules: Rule[];
}

export function readText(file: string): string {
  return readFileSync(file, 'utf8');
}
