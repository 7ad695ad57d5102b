import { collectDefaultMetrics, Registry } from 'prom-client';

/** A registry with the process metrics under the `mqft_` prefix and a `service` label. */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: 'mqft_' });
  return registry;
}
