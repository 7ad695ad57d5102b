import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT } from '@mqft/test-support';
import { metricsCatalogue } from '../../deploy/tools/metrics-catalogue.js';
import { PROMETHEUS_RULE_FILE, prometheusRule } from '../../deploy/tools/prometheus-rule.js';
import { readYamlDocuments, renderKustomization, type Resource } from './support/kustomize.js';
import {
  FOREIGN_SERIES,
  knownSeries,
  metricNames,
  PROMETHEUS_YML,
  promtool,
  PROMTOOL_MISSING,
  RULE_TESTS,
  RULES,
  runPromtool,
  type RuleGroup,
} from './support/promql.js';
import { validateResource } from './support/schemas.js';

// The alert rules: valid for Prometheus (promtool check), each alert proven by a unit test
// that makes it fire (promtool test), every metric they read exists in the code, and the
// Prometheus Operator's PrometheusRule holds exactly the same groups.

const groups = (parse(readFileSync(RULES, 'utf8')) as { groups: RuleGroup[] }).groups;
const alerts = groups.flatMap((g) => g.rules).filter((r) => r.alert !== undefined);

describe('alert rules (deploy/prometheus/rules/mqft.rules.yml)', () => {
  // promtool is a process of its own: seconds on a loaded machine, beyond the 5 s default.
  it('pass `promtool check rules`', { timeout: 30_000 }, (ctx) => {
    if (!promtool()) return ctx.skip(true, PROMTOOL_MISSING);
    expect(runPromtool(['check', 'rules', RULES])).toContain(
      `SUCCESS: ${alerts.length} rules found`,
    );
  });

  it('pass their unit tests: `promtool test rules`', { timeout: 30_000 }, (ctx) => {
    if (!promtool()) return ctx.skip(true, PROMTOOL_MISSING);
    expect(runPromtool(['test', 'rules', RULE_TESTS])).toContain('SUCCESS');
  });

  it('each have a unit test in which they fire', () => {
    const tests = (
      parse(readFileSync(RULE_TESTS, 'utf8')) as {
        tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
      }
    ).tests;
    const fired = new Set(
      tests
        .flatMap((t) => t.alert_rule_test ?? [])
        .filter((t) => t.exp_alerts.length > 0)
        .map((t) => t.alertname),
    );
    for (const alert of alerts) expect(fired, alert.alert).toContain(alert.alert);
  });

  it('cover what the issue asks for', () => {
    const names = alerts.map((a) => a.alert);
    for (const name of [
      'MqftBacklogGrowing', // backlog growing
      'MqftChecksumMismatches', // assembly failures
      'MqftSegmentsLost',
      'MqftTransfersFailed', // assemblies given up (no retry without end)
      'MqftNoAssemblers', // no consumers
      'MqftBacklogStuck',
      'MqftNoIngest',
      'MqftPodNotReady', // a dependency down (readiness)
      'MqftResultErrorRate', // result error rate
      'MqftStorageErrors', // storage errors
    ]) {
      expect(names).toContain(name);
    }
  });

  it('read only metrics the services expose (or up, kube-state-metrics)', async () => {
    const known = knownSeries(await metricsCatalogue());
    for (const rule of alerts) {
      const names = metricNames(rule.expr);
      expect(names.length, rule.alert).toBeGreaterThan(0);
      for (const name of names) {
        expect(known.has(name) || FOREIGN_SERIES.has(name), `${rule.alert}: ${name}`).toBe(true);
      }
    }
  });

  it('carry a severity, a summary, a description and a runbook section', () => {
    const operations = readFileSync(join(REPO_ROOT, 'docs/operations.md'), 'utf8');
    for (const rule of alerts) {
      expect(['critical', 'warning'], rule.alert).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      expect(rule.annotations?.description, rule.alert).toBeTruthy();
      const anchor = (rule.alert as string).toLowerCase();
      expect(rule.annotations?.runbook).toBe(`docs/operations.md#${anchor}`);
      expect(operations, `docs/operations.md has a heading for ${rule.alert}`).toMatch(
        new RegExp(`^#{2,5} ${rule.alert}$`, 'm'),
      );
    }
  });
});

describe('Prometheus Operator resources (deploy/prometheus/k8s)', () => {
  const resources = renderKustomization(join(REPO_ROOT, 'deploy/prometheus/k8s'));
  const podMonitor = readYamlDocuments(
    join(REPO_ROOT, 'deploy/prometheus/k8s/podmonitor.yaml'),
  ) as Resource[];

  it('are valid against the operator’s CRD schemas', async () => {
    expect(resources.map((r) => r.kind).sort()).toEqual(['PrometheusRule', 'ServiceMonitor']);
    for (const r of [...resources, ...podMonitor]) await validateResource(r);
  });

  it('hold exactly the alert rules of the plain rule file (deploy/tools/prometheus-rule.ts)', () => {
    const rule = resources.find((r) => r.kind === 'PrometheusRule') as Resource;
    expect((rule.spec as { groups: unknown }).groups).toEqual(groups);
    // And the generator reproduces it.
    expect(parse(prometheusRule())).toEqual(parse(readFileSync(PROMETHEUS_RULE_FILE, 'utf8')));
  });

  it('scrape the metrics port of mqft pods, labelled by service as the rules expect', () => {
    const base = renderKustomization(join(REPO_ROOT, 'deploy/k8s/base'));
    const monitor = resources.find((r) => r.kind === 'ServiceMonitor') as Resource;
    const spec = monitor.spec as {
      selector: { matchLabels: Record<string, string> };
      endpoints: { port: string; honorLabels?: boolean; relabelings: unknown[] }[];
    };
    const services = base.filter(
      (r) =>
        r.kind === 'Service' &&
        Object.entries(spec.selector.matchLabels).every(([k, v]) => r.metadata.labels?.[k] === v),
    );
    expect(services.map((s) => s.metadata.name).sort()).toEqual([
      'mqft-assembler',
      'mqft-control',
      'mqft-ingest',
    ]);
    for (const endpoint of spec.endpoints) {
      for (const svc of services) {
        const ports = (svc.spec as { ports: { name: string }[] }).ports.map((p) => p.name);
        expect(ports).toContain(endpoint.port);
      }
      expect(endpoint.honorLabels).toBe(true);
      expect(endpoint.relabelings).toContainEqual({
        sourceLabels: ['__meta_kubernetes_pod_label_app_kubernetes_io_component'],
        targetLabel: 'service',
      });
    }
  });
});

describe('plain Prometheus config (deploy/prometheus/prometheus.yml)', () => {
  const config = parse(readFileSync(PROMETHEUS_YML, 'utf8')) as {
    rule_files: string[];
    scrape_configs: {
      job_name: string;
      honor_labels?: boolean;
      static_configs: { targets: string[]; labels: { service: string } }[];
    }[];
  };

  it('passes `promtool check config` (rule files included)', (ctx) => {
    if (!promtool()) return ctx.skip(true, PROMTOOL_MISSING);
    expect(runPromtool(['check', 'config', PROMETHEUS_YML])).toContain('SUCCESS');
  });

  it('scrapes each service at its default address, labelled by service', () => {
    expect(config.rule_files).toEqual(['rules/mqft.rules.yml']);
    const jobs = Object.fromEntries(
      config.scrape_configs.map(
        (job) => [job.static_configs[0]?.labels.service ?? '', job] as const,
      ),
    );
    for (const [service, port] of [
      ['ingest', 9101],
      ['assembler', 9102],
      ['control', 9103],
    ] as const) {
      expect(jobs[service]?.static_configs[0]?.targets).toEqual([`127.0.0.1:${port}`]);
      expect(jobs[service]?.honor_labels).toBe(true);
    }
  });

  it('prometheus-adapter serves the backlog gauge the assembler HPA reads', async () => {
    const adapter = parse(
      readFileSync(join(REPO_ROOT, 'deploy/prometheus/prometheus-adapter.yaml'), 'utf8'),
    ) as { rules: { external: { name: { as: string }; metricsQuery: string }[] } };
    const rule = adapter.rules.external[0];
    expect(rule?.name.as).toBe('mqft_assembler_consumer_pending');
    expect(rule?.metricsQuery, 'every replica reports the same backlog: max, not sum').toMatch(
      /^max\(/,
    );
    const metric = (await metricsCatalogue()).find((m) => m.name === rule?.name.as);
    expect(metric?.type).toBe('gauge');
  });
});
