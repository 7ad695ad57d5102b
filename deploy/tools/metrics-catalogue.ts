// Every metric each service exposes, read from the code that registers them (the services'
// metrics.ts, the shared results counter and prom-client's process metrics), so that
// docs/operations.md, the alert rules and the Grafana dashboard can be checked against it.
//
//   pnpm exec tsx deploy/tools/metrics-catalogue.ts   prints one line a metric
import { fileURLToPath } from 'node:url';
import { createMetricsRegistry } from '../../packages/config/src/index.js';
import { resultsCounter } from '../../packages/mqtt/src/index.js';
import { createAssemblerMetrics } from '../../services/assembler/src/metrics.js';
import { createControlMetrics } from '../../services/control/src/metrics.js';
import { createIngestMetrics } from '../../services/ingest/src/metrics.js';
import { SERVICES, type ServiceName } from './config-table.js';

export interface CatalogueMetric {
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary';
  help: string;
  labels: string[];
  services: ServiceName[];
  /** One of prom-client's default process and Node.js metrics. */
  process: boolean;
}

type Registry = ReturnType<typeof createMetricsRegistry>;

/** What the catalogue reads of a prom-client metric object. */
interface MetricLike {
  get(): Promise<{ name: string; type: unknown; help: string }>;
  labelNames?: readonly string[];
}

const metricsOf = (registry: Registry) => registry.getMetricsAsArray() as unknown as MetricLike[];

/** A registry holding exactly what the service's process registers. */
export function serviceRegistry(service: ServiceName): Registry {
  const registry = createMetricsRegistry(service);
  if (service === 'ingest') {
    createIngestMetrics(registry, () => 0);
    resultsCounter(registry);
  } else if (service === 'assembler') {
    createAssemblerMetrics(registry);
    resultsCounter(registry);
  } else {
    createControlMetrics(registry);
  }
  return registry;
}

const PROCESS_ONLY = new Set(
  (await Promise.all(metricsOf(createMetricsRegistry('x')).map((m) => m.get()))).map((m) => m.name),
);

export async function metricsCatalogue(): Promise<CatalogueMetric[]> {
  const byName = new Map<string, CatalogueMetric>();
  for (const service of SERVICES) {
    for (const metric of metricsOf(serviceRegistry(service))) {
      const value = await metric.get();
      const known = byName.get(value.name);
      if (known) {
        known.services.push(service);
        continue;
      }
      const labels = metric.labelNames ?? [];
      byName.set(value.name, {
        name: value.name,
        type: String(value.type) as CatalogueMetric['type'],
        help: value.help,
        labels: [...labels],
        services: [service],
        process: PROCESS_ONLY.has(value.name),
      });
    }
  }
  return [...byName.values()];
}

/**
 * The series names a metric exposes: a histogram's `_bucket`, `_sum` and `_count`, a
 * summary's `_sum` and `_count` besides its own name.
 */
export function seriesNames(metric: CatalogueMetric): string[] {
  if (metric.type === 'histogram')
    return [`${metric.name}_bucket`, `${metric.name}_sum`, `${metric.name}_count`];
  if (metric.type === 'summary') return [metric.name, `${metric.name}_sum`, `${metric.name}_count`];
  return [metric.name];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const m of await metricsCatalogue()) {
    console.log(
      `${m.process ? 'process ' : 'service '} ${m.type.padEnd(9)} ${m.name} {${m.labels.join(',')}} [${m.services.join(',')}] ${m.help}`,
    );
  }
}
