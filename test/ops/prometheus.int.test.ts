import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import {
  waitFor,
  startMqftStack,
  startServer,
  type MqftStack,
  type ServerHandle,
} from '@mqft/test-support';
import { TestDevice } from '../e2e/device.js';
import { dashboardQueries } from './support/dashboard.js';
import { resilientUpload, ResultWaiter } from './support/uploader.js';
import { PROMETHEUS_YML, RULES } from './support/promql.js';

// A real Prometheus (Debian's `prometheus`) with deploy/prometheus/prometheus.yml — its jobs,
// labels and rule file, pointed at a running stack — scrapes during an upload. Proves the
// scrape config, the rules and the dashboard's queries against live series.

const PROMETHEUS_BIN = process.env.MQFT_PROMETHEUS_BIN ?? 'prometheus';
const available = spawnSync(PROMETHEUS_BIN, ['--version'], { stdio: 'ignore' }).status === 0;
const log = (line: string) => process.stdout.write(`[prometheus] ${line}\n`);

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

async function api<T>(prometheus: ServerHandle, path: string): Promise<T> {
  const res = await fetch(`${prometheus.url}${path}`);
  const body = (await res.json()) as { status: string; data: T; error?: string };
  if (body.status !== 'success') throw new Error(`${path}: ${body.error ?? res.status}`);
  return body.data;
}

const query = async (prometheus: ServerHandle, promql: string) =>
  (await api<{ result: Sample[] }>(prometheus, `/api/v1/query?query=${encodeURIComponent(promql)}`))
    .result;

async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  let value: T | undefined;
  await waitFor(async () => (value = await probe()) !== undefined, {
    timeoutMs,
    intervalMs: 250,
    what,
  });
  return value as T;
}

/** deploy/prometheus/prometheus.yml with the stack's addresses and a 1 s scrape interval. */
async function prometheusConfig(stack: MqftStack, dir: string): Promise<string> {
  const config = parse(await readFile(PROMETHEUS_YML, 'utf8')) as {
    global: Record<string, string>;
    scrape_configs: { static_configs: { targets: string[]; labels: { service: string } }[] }[];
  };
  config.global = { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' };
  const handles: Record<string, ServerHandle[]> = {
    ingest: stack.ingests,
    assembler: stack.assemblers,
    control: stack.control ? [stack.control] : [],
  };
  config.scrape_configs = config.scrape_configs.filter((job) => {
    const group = job.static_configs[0];
    const targets = (handles[group?.labels.service ?? ''] ?? []).map((h) => new URL(h.url).host);
    if (group) group.targets = targets;
    return targets.length > 0;
  });
  await mkdir(join(dir, 'rules'), { recursive: true });
  await copyFile(RULES, join(dir, 'rules/mqft.rules.yml'));
  const file = join(dir, 'prometheus.yml');
  await writeFile(file, stringify(config));
  return file;
}

function startPrometheus(configFile: string): Promise<ServerHandle> {
  return startServer({
    name: 'prometheus',
    scheme: 'http',
    prepare({ host, port, dir }) {
      return {
        command: PROMETHEUS_BIN,
        args: [
          `--config.file=${configFile}`,
          `--storage.tsdb.path=${join(dir, 'data')}`,
          `--web.listen-address=${host}:${port}`,
          '--storage.tsdb.retention.time=1h',
        ],
      };
    },
    async ready(ctx) {
      if (!(await ctx.log()).includes('Server is ready to receive web requests')) return false;
      const res = await fetch(`http://${ctx.host}:${ctx.port}/-/ready`);
      return res.status === 200;
    },
  });
}

describe.skipIf(!available)('a real Prometheus scrapes the stack during an upload', () => {
  let dir: string;
  let stack: MqftStack;
  let prometheus: ServerHandle;
  let device: TestDevice;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mqft-prometheus-'));
    stack = await startMqftStack({
      storage: `file://${dir}/files`,
      ingests: 1,
      assemblers: 1,
      control: true,
    });
    prometheus = await startPrometheus(await prometheusConfig(stack, dir));
    device = await TestDevice.connect(stack.mqttUrl);
  });
  afterAll(async () => {
    await device?.close();
    await prometheus?.stop();
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('sees every target up, labelled by service, with no relabelled duplicates', async () => {
    const up = await eventually('every target up', async () => {
      const samples = await query(prometheus, 'up');
      const expected = stack.ingests.length + stack.assemblers.length + (stack.control ? 1 : 0);
      return samples.length === expected && samples.every((s) => s.value[1] === '1')
        ? samples
        : undefined;
    });
    expect(up.map((s) => s.metric.service).sort()).toEqual(['assembler', 'control', 'ingest']);
    expect(await query(prometheus, '{exported_service!=""}')).toEqual([]);
  });

  it('counts a completed assembly after an upload', async () => {
    const before = await query(
      prometheus,
      'mqft_assembler_assemblies_total{result="complete", service="assembler"}',
    );
    expect(before.reduce((sum, s) => sum + Number(s.value[1]), 0)).toBe(0);
    const data = randomBytes(4 * 1024 * 1024);
    // A device retransmits what got no result (docs/protocol.md); the test device does too.
    const upload = await resilientUpload(device, new ResultWaiter(device.client), 'scraped', data, {
      segmentSize: 64 * 1024,
      window: 8,
    });
    if (upload.resent > 0) log(`the device resent ${upload.resent} commands`);
    expect(upload.result).toMatchObject({ reason_code: 0 });
    const complete = await eventually('the counter went up', async () => {
      const samples = await query(
        prometheus,
        'mqft_assembler_assemblies_total{result="complete", service="assembler"}',
      );
      const total = samples.reduce((sum, s) => sum + Number(s.value[1]), 0);
      return total >= 1 ? total : undefined;
    });
    expect(complete).toBe(1);
    // Scrapes of the two services are not simultaneous: wait for ingest's too.
    await eventually('ingest counted the bytes', async () => {
      const received = await query(prometheus, 'sum(mqft_ingest_bytes_received_total)');
      return Number(received[0]?.value[1]) >= data.length ? true : undefined;
    });
    // Stored segments are answered by ingest (success); init and fin go on to the assembler.
    // The fin may land after the scrape that saw the last segment's bytes: wait for it too.
    const stored = await eventually('ingest counted the fin', async () => {
      const samples = await query(
        prometheus,
        'sum by (kind, reason) (mqft_ingest_commands_total{reason=~"forwarded|success"})',
      );
      return samples.some((s) => s.metric.kind === 'fin') ? samples : undefined;
    });
    expect(stored.map((s) => `${s.metric.kind}:${s.metric.reason}`).sort()).toEqual([
      'fin:forwarded',
      'init:forwarded',
      'segment:success',
    ]);
    for (const sample of await query(prometheus, 'mqft_process_resident_memory_bytes')) {
      log(`${sample.metric.service} RSS ${(Number(sample.value[1]) / 2 ** 20).toFixed(0)} MiB`);
    }
  });

  it('evaluates every alert rule without error, and none of the "nothing runs" alerts fire', async () => {
    interface RuleState {
      name: string;
      health: string;
      lastError?: string;
      state?: string;
      lastEvaluation: string;
    }
    const rules = await eventually('every rule evaluated', async () => {
      const data = await api<{ groups: { rules: RuleState[] }[] }>(prometheus, '/api/v1/rules');
      const all = data.groups.flatMap((g) => g.rules);
      return all.length > 0 && all.every((r) => !r.lastEvaluation.startsWith('0001'))
        ? all
        : undefined;
    });
    const local = parse(await readFile(RULES, 'utf8')) as { groups: { rules: unknown[] }[] };
    expect(rules).toHaveLength(local.groups.flatMap((g) => g.rules).length);
    for (const rule of rules) {
      expect(rule.health, `${rule.name}: ${rule.lastError ?? ''}`).toBe('ok');
    }
    const firingOrPending = rules.filter((r) => r.state !== 'inactive').map((r) => r.name);
    for (const name of ['MqftNoAssemblers', 'MqftNoIngest', 'MqftIngestNotSubscribed']) {
      expect(firingOrPending).not.toContain(name);
    }
  });

  it('answers every query of the Grafana dashboard', async () => {
    const withData = new Set<string>();
    const queries = dashboardQueries();
    for (const { panel, expr } of queries) {
      const samples = await query(prometheus, expr).catch((err: unknown) => {
        throw new Error(`${panel}: ${expr}: ${String(err)}`);
      });
      if (samples.length > 0) withData.add(panel);
    }
    log(
      `${withData.size} of ${new Set(queries.map((q) => q.panel)).size} panels have data: ${[...withData].join(', ')}`,
    );
    // Panels of features this upload does not use (webhooks, retention, shedding) may stay
    // empty, and a rate needs two scrapes of a change; the gauges of a running stack may not.
    for (const panel of [
      'Processes up',
      'JetStream backlog',
      'Ingest MQTT connections',
      'Active assemblies',
      'Stream fill',
      'Resident memory',
    ]) {
      expect(withData, `${panel} has data after an upload`).toContain(panel);
    }
  });
});

if (!available) {
  describe('a real Prometheus', () => {
    it.skip('skipped: `prometheus` is not installed (Debian package `prometheus`, which scripts/setup installs)', () => {});
  });
}
