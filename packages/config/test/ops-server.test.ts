import { afterEach, describe, expect, it } from 'vitest';
import { Counter } from 'prom-client';
import {
  createLogger,
  createMetricsRegistry,
  startOpsServer,
  type OpsServer,
} from '../src/index.js';

describe('ops server', () => {
  let server: OpsServer | undefined;
  afterEach(async () => server?.close());

  it('serves metrics, liveness and readiness that follows its checks and draining', async () => {
    const registry = createMetricsRegistry('test');
    new Counter({ name: 'mqft_test_things_total', help: 'things', registers: [registry] }).inc(3);
    let natsUp = true;
    server = await startOpsServer({
      host: '127.0.0.1',
      port: 0,
      registry,
      checks: { nats: () => natsUp, redis: () => Promise.resolve(true) },
      logger: createLogger('test', 'silent'),
    });
    const base = `http://127.0.0.1:${server.port}`;

    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('mqft_test_things_total{service="test"} 3');
    expect(metrics).toContain('mqft_process_cpu_user_seconds_total');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);

    natsUp = false;
    const notReady = await fetch(`${base}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.text()).toBe('not ready: nats\n');

    natsUp = true;
    server.drain();
    expect(await (await fetch(`${base}/readyz`)).text()).toBe('not ready: draining\n');
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });
});
