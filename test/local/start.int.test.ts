import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  deleteStackData,
  freePort,
  REPO_ROOT,
  sharedNatsUrl,
  sharedRedisUrl,
  uniqueName,
  waitFor,
} from '@mqft/test-support';
import { sha256 } from '../e2e/device.js';

// `pnpm start` is `node scripts/build.mjs && tsx deploy/local/start.ts`; the integration
// project's global setup has built the bundles, so this runs the same entry the same way.
const TSX = path.join(REPO_ROOT, 'node_modules/.bin/tsx');

interface LocalStack {
  child: ChildProcess;
  /** Everything the stack printed so far (stdout and stderr). */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function runLocalStack(env: Record<string, string>): LocalStack {
  const child = spawn(TSX, ['deploy/local/start.ts'], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => text, exited };
}

function answers(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((done) => {
    const socket = createConnection({ host: hostname, port: Number(port) });
    socket.once('connect', () => done(!socket.destroy()));
    socket.once('error', () => done(false));
  });
}

describe.each(['emqx', 'scoped'] as const)('pnpm start, MQFT_LAYOUT=%s', (layout) => {
  let stack: LocalStack | undefined;
  let dir: string | undefined;
  const stream = uniqueName('MQFT_LOCAL');
  const redisPrefix = `${uniqueName('mqft_local')}:`;

  afterEach(async () => {
    if (stack && stack.child.exitCode === null && stack.child.signalCode === null) {
      stack.child.kill('SIGKILL');
      await stack.exited;
    }
    await deleteStackData({
      natsUrl: sharedNatsUrl(),
      stream,
      redisUrl: sharedRedisUrl(),
      redisPrefix,
    });
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs the services with the environment, uploads the demo in that layout, stops on Ctrl-C', async () => {
    dir = await mkdtemp(path.join(tmpdir(), `mqft-local-${layout}-`));
    const devicePort = await freePort();
    stack = runLocalStack({
      MQFT_LAYOUT: layout,
      MQFT_STORAGE: `file://${dir}/files`,
      MQFT_LOCAL_MQTT_PORT: String(devicePort),
      MQFT_GRPC_ADDR: `127.0.0.1:${await freePort()}`,
      MQFT_NATS_URL: sharedNatsUrl(),
      MQFT_REDIS_URL: sharedRedisUrl(),
      MQFT_STREAM: stream,
      MQFT_REDIS_PREFIX: redisPrefix,
      // A variable only the services read: it must win over the stack's default (info).
      MQFT_LOG_LEVEL: 'debug',
      // One the stack owns: it runs its own broker, so this must not reach the services.
      MQFT_MQTT_URL: 'mqtt://127.0.0.1:1',
    });
    const output = stack.output;
    const landed = waitFor(() => /demo upload landed at /.test(output()), {
      timeoutMs: 120_000,
      intervalMs: 200,
      what: 'the demo upload',
    });
    const landedFirst = landed.then(() => 'landed' as const);
    landedFirst.catch(() => undefined); // a timeout after the stack exited is not the news
    const first = await Promise.race([landedFirst, stack.exited.then(() => 'exited' as const)]);
    expect(first, `the stack exited before the demo landed:\n${output()}`).toBe('landed');

    expect(output()).toContain(`layout: ${layout}`);
    expect(output()).toContain(`devices connect to mqtt://127.0.0.1:${devicePort}`);
    expect(output()).toContain('MQFT_MQTT_URL is ignored');
    expect(output()).toContain(`stream ${stream}, Redis prefix ${redisPrefix}`);
    const location = /demo upload landed at (\S+)/.exec(output())?.[1] ?? '';
    const file = fileURLToPath(location);
    expect(file.startsWith(path.join(dir, 'files', 'mqft-demo') + path.sep)).toBe(true);
    const checksum = /demo: stored \S+, sha256 ([0-9a-f]{64})/.exec(output())?.[1];
    const stored = await readFile(file);
    expect(stored.length).toBe(1024 * 1024);
    expect(sha256(stored)).toBe(checksum);

    const services = [...output().matchAll(/(mqft-\w+)\.log: metrics (\S+)\/metrics, log (\S+)/g)];
    expect(services.map((m) => m[1]).sort()).toEqual([
      'mqft-assembler',
      'mqft-control',
      'mqft-ingest',
    ]);
    const assemblerLog = services.find((m) => m[1] === 'mqft-assembler')?.[3] ?? '';
    expect(await readFile(assemblerLog, 'utf8'), 'MQFT_LOG_LEVEL=debug reached it').toContain(
      '"msg":"command recorded"',
    );

    stack.child.kill('SIGINT');
    const exit = await stack.exited;
    expect(exit, output()).toEqual({ code: 0, signal: null });
    expect(output()).toContain('[mqft] stopped');
    for (const [, , url] of services)
      expect(await answers(url ?? ''), `${url} is down`).toBe(false);
    expect(await answers(`mqtt://127.0.0.1:${devicePort}`), 'the broker is down').toBe(false);
  }, 180_000);
});
