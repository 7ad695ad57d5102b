import { randomBytes } from 'node:crypto';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  metricValue,
  sleep,
  startMqftService,
  startMqftStack,
  type MqftStack,
  type ServerExit,
  type ServerHandle,
} from '@mqft/test-support';
import { sha256, TestDevice } from '../e2e/device.js';
import { resilientUpload, ResultWaiter } from './support/uploader.js';

// SIGTERM is how Kubernetes stops a pod (rolling update, scale-down, node drain). The
// contract (docs/design.md "Observability and operations"): stop taking new work, finish or
// hand back what is in flight, exit 0 — and no upload loses a byte.

const SIZE = 60 * 1024 * 1024;
const SEGMENT = 64 * 1024;
const data = randomBytes(SIZE);
const digest = sha256(data);
const log = (line: string) => process.stdout.write(`[sigterm] ${line}\n`);

describe('SIGTERM mid-upload loses nothing', () => {
  let dir: string;
  let stack: MqftStack | undefined;
  const processes: ServerHandle[] = [];
  let device: TestDevice | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mqft-sigterm-'));
  });
  afterEach(async () => {
    await device?.close();
    device = undefined;
    await Promise.all(processes.splice(0).map((p) => p.stop()));
    await stack?.stop();
    stack = undefined;
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function fileDigest(location: string | undefined): Promise<string> {
    expect(location).toMatch(/^file:\/\//);
    return sha256(await readFile(fileURLToPath(location as string)));
  }

  it('an assembler stopped while recording: the other replica completes the file', async () => {
    stack = await startMqftStack({
      storage: `file://${dir}`,
      ingests: 1,
      assemblers: 0,
      env: { MQFT_SHUTDOWN_GRACE: '10s' },
    });
    for (let i = 0; i < 2; i++) processes.push(await startMqftService('assembler', stack.env));
    const [victim, survivor] = processes as [ServerHandle, ServerHandle];
    device = await TestDevice.connect(stack.mqttUrl);
    const waiter = new ResultWaiter(device.client);
    let exit: Promise<ServerExit> | undefined;
    const started = performance.now();
    const upload = await resilientUpload(device, waiter, 'sigterm-recording', data, {
      segmentSize: SEGMENT,
      window: 4,
      onProgress: (answered, total) => {
        if (exit === undefined && answered >= total * 0.4) {
          log(`SIGTERM assembler ${victim.pid} at ${answered}/${total} segments`);
          exit = victim.terminate();
        }
      },
    });
    const finished = performance.now();
    expect(exit).toBeDefined();
    const stopped = await (exit as Promise<ServerExit>);
    log(
      `victim exited code=${stopped.code} in ${Math.round(stopped.ms)} ms; upload ${Math.round(finished - started)} ms, ` +
        `fin→result ${Math.round(finished - upload.finSentAt)} ms, resent ${upload.resent}, ` +
        `missing resent ${upload.missingResent}, fins ${upload.fins}`,
    );
    expect(stopped).toMatchObject({ code: 0, signal: null });
    expect(stopped.ms).toBeLessThan(10_000);
    expect(upload.result).toMatchObject({ reason_code: 0 });
    expect(await fileDigest(upload.result.location)).toBe(digest);
    expect(
      await metricValue(survivor.url, 'mqft_assembler_assemblies_total', { result: 'complete' }),
    ).toBe(1);
  });

  it('an assembler stopped while it writes the file (before fin or after): the work is handed over', async () => {
    stack = await startMqftStack({
      storage: `file://${dir}`,
      ingests: 1,
      assemblers: 0,
      // Shorter than the assembly, so the stop must hand it back rather than finish it.
      env: { MQFT_SHUTDOWN_GRACE: '100ms' },
    });
    for (let i = 0; i < 2; i++) processes.push(await startMqftService('assembler', stack.env));
    device = await TestDevice.connect(stack.mqttUrl);
    const waiter = new ResultWaiter(device.client);
    let victim: ServerHandle | undefined;
    let exit: Promise<ServerExit> | undefined;
    let stoppedAt = 0;
    const watch = { on: true };
    const watcher = (async () => {
      while (watch.on && victim === undefined) {
        for (const p of processes) {
          // A 60 MiB upload is written progressively while it arrives (docs/internals.md
          // "Progressive assembly (before fin)"); what is left after fin takes milliseconds.
          const writing =
            (await metricValue(p.url, 'mqft_assembler_active_assemblies')) === 1 ||
            (await metricValue(p.url, 'mqft_assembler_progressive_active')) === 1;
          if (writing) {
            victim = p;
            stoppedAt = performance.now();
            log(`SIGTERM assembler ${p.pid} while it writes the file`);
            exit = p.terminate();
            break;
          }
        }
        await sleep(10);
      }
    })();
    const upload = await resilientUpload(device, waiter, 'sigterm-assembling', data, {
      segmentSize: SEGMENT,
      window: 4,
    });
    const finished = performance.now();
    watch.on = false;
    await watcher;
    expect(victim, 'no assembler was seen writing the file').toBeDefined();
    const stopped = await (exit as Promise<ServerExit>);
    const survivor = processes.find((p) => p !== victim) as ServerHandle;
    log(
      `victim exited code=${stopped.code} in ${Math.round(stopped.ms)} ms; SIGTERM→fin result ` +
        `${Math.round(finished - stoppedAt)} ms; resent ${upload.resent}, fins ${upload.fins}`,
    );
    expect(stopped).toMatchObject({ code: 0, signal: null });
    expect(stopped.ms).toBeLessThan(5_000);
    expect(upload.result).toMatchObject({ reason_code: 0 });
    expect(await fileDigest(upload.result.location)).toBe(digest);
    expect(
      await metricValue(survivor.url, 'mqft_assembler_assemblies_total', { result: 'complete' }),
    ).toBe(1);
  });

  async function twoIngests(target: MqftStack): Promise<[ServerHandle, ServerHandle]> {
    for (let i = 0; i < 2; i++) {
      // Stable clientIds, as the StatefulSet's pod names give them (persistent sessions).
      const id = `${target.stream}-i${i}`;
      processes.push(await startMqftService('ingest', { ...target.env, MQFT_MQTT_CLIENT_ID: id }));
    }
    return processes.slice(-2) as [ServerHandle, ServerHandle];
  }

  it('an ingest replica restarted mid-upload (rolling update): nothing is lost', async () => {
    stack = await startMqftStack({
      storage: `file://${dir}`,
      ingests: 0,
      assemblers: 1,
      env: { MQFT_SHUTDOWN_GRACE: '10s' },
    });
    const [victim] = await twoIngests(stack);
    const target = stack;
    device = await TestDevice.connect(stack.mqttUrl);
    const waiter = new ResultWaiter(device.client);
    let exit: Promise<ServerExit> | undefined;
    let restarted: Promise<void> | undefined;
    const started = performance.now();
    const upload = await resilientUpload(device, waiter, 'sigterm-ingest', data, {
      segmentSize: SEGMENT,
      window: 4,
      resultTimeoutMs: 2_000,
      onProgress: (answered, total) => {
        if (exit !== undefined || answered < total * 0.4) return;
        log(`SIGTERM ingest ${victim.pid} at ${answered}/${total} segments`);
        exit = victim.terminate();
        // The StatefulSet brings the pod back under the same name: same clientIds, and the
        // broker hands it what it queued for that persistent session meanwhile.
        restarted = exit.then(async () => {
          const back = await startMqftService('ingest', {
            ...target.env,
            MQFT_MQTT_CLIENT_ID: `${target.stream}-i0`,
          });
          processes.push(back);
          log(`ingest back after ${Math.round(performance.now() - started)} ms`);
        });
      },
    });
    const finished = performance.now();
    const stopped = await (exit as Promise<ServerExit>);
    await restarted;
    log(
      `victim exited code=${stopped.code} in ${Math.round(stopped.ms)} ms; upload ${Math.round(finished - started)} ms, ` +
        `resent ${upload.resent}, missing resent ${upload.missingResent}, fins ${upload.fins}`,
    );
    expect(stopped).toMatchObject({ code: 0, signal: null });
    // Up to the whole grace under traffic (docs/operations.md "Shutdown (SIGTERM)").
    expect(stopped.ms).toBeLessThan(10_000 + 2_000);
    expect(upload.result).toMatchObject({ reason_code: 0 });
    expect(await fileDigest(upload.result.location)).toBe(digest);
  });

  it('an ingest replica removed for good mid-upload: the device retransmits, nothing is lost', async () => {
    stack = await startMqftStack({
      storage: `file://${dir}`,
      ingests: 0,
      assemblers: 1,
      env: { MQFT_SHUTDOWN_GRACE: '10s' },
    });
    const [victim] = await twoIngests(stack);
    device = await TestDevice.connect(stack.mqttUrl);
    const waiter = new ResultWaiter(device.client);
    const small = data.subarray(0, 8 * 1024 * 1024);
    let exit: Promise<ServerExit> | undefined;
    let stoppedAt = 0;
    const upload = await resilientUpload(device, waiter, 'sigterm-ingest-gone', small, {
      segmentSize: SEGMENT,
      window: 16,
      resultTimeoutMs: 1_500,
      finTimeoutMs: 5_000,
      onProgress: (answered, total) => {
        if (exit !== undefined || answered < total * 0.4) return;
        log(`SIGTERM ingest ${victim.pid} at ${answered}/${total} segments`);
        stoppedAt = performance.now();
        exit = victim.terminate();
      },
    });
    const finished = performance.now();
    const stopped = await (exit as Promise<ServerExit>);
    log(
      `victim exited code=${stopped.code} in ${Math.round(stopped.ms)} ms; stop→fin result ${Math.round(finished - stoppedAt)} ms, ` +
        `resent ${upload.resent}, missing resent ${upload.missingResent}, fins ${upload.fins}`,
    );
    expect(stopped).toMatchObject({ code: 0, signal: null });
    // Under traffic, ingest's stop takes the whole grace
    // (docs/operations.md "Shutdown (SIGTERM)").
    expect(stopped.ms).toBeLessThan(10_000 + 2_000);
    expect(upload.result).toMatchObject({ reason_code: 0 });
    expect(await fileDigest(upload.result.location)).toBe(sha256(small));
  });
});
