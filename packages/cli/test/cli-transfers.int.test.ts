import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMqftStack, waitFor, type MqftStack } from '@mqft/test-support';
import { runCli, startCli } from './run-cli.js';

describe('mqft transfers against the control API (real pipeline)', () => {
  let stack: MqftStack;
  let dir: string;
  let file: string;
  let api: string[];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mqft-cli-api-'));
    stack = await startMqftStack({ storage: `file://${join(dir, 'store')}`, control: true });
    api = ['--api', stack.env['MQFT_GRPC_ADDR'] as string];
    file = join(dir, 'data.bin');
    await writeFile(file, randomBytes(300_000));
  });
  afterAll(async () => {
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const upload = (clientId: string, fileId: string, ...more: string[]) => [
    'upload',
    file,
    '--broker',
    stack.mqttUrl,
    '--client-id',
    clientId,
    '--file-id',
    fileId,
    ...more,
  ];

  it('watch reports the snapshot, then an upload as it completes', async () => {
    const watch = startCli(['transfers', 'watch', '--json', '--client-id', 'api-1', ...api]);
    await waitFor(() => watch.output.stdout.includes('SNAPSHOT_COMPLETE'), {
      what: 'snapshot',
      timeoutMs: 20_000,
    });
    expect((await runCli(upload('api-1', 'f1'))).code).toBe(0);
    await waitFor(() => watch.output.stdout.includes('TRANSFER_STATE_COMPLETE'), {
      what: 'complete event',
    });
    watch.child.kill('SIGINT');
    const run = await watch.exited;
    expect(run.code).toBe(0);
    const events = run.stdout
      .trim()
      .split('\n')
      .map((line): unknown => JSON.parse(line));
    expect(events[0]).toEqual({ type: 'WATCH_EVENT_TYPE_SNAPSHOT_COMPLETE' });
    expect(events.at(-1)).toMatchObject({
      type: 'WATCH_EVENT_TYPE_CHANGED',
      transfer: { fileId: 'f1' },
    });
  });

  it('list, get and url, as tables and as JSON', async () => {
    const list = await runCli(['transfers', 'list', '--client-id', 'api-1', ...api]);
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n')[0]).toMatch(
      /^CLIENT\s+FILE\s+STATE\s+SIZE\s+RECEIVED\s+UPDATED\s+NAME$/,
    );
    expect(list.stdout).toMatch(/^api-1\s+f1\s+COMPLETE\s+293\.0 KiB/m);
    const json = await runCli(['transfers', 'list', '--json', '--state', 'complete', ...api]);
    expect((JSON.parse(json.stdout) as { transfers: unknown }).transfers).toEqual([
      expect.objectContaining({
        clientId: 'api-1',
        fileId: 'f1',
        state: 'TRANSFER_STATE_COMPLETE',
      }),
    ]);
    const get = await runCli(['transfers', 'get', 'api-1', 'f1', ...api]);
    expect(get.stdout).toMatch(/^state:\s+COMPLETE$/m);
    const url = await runCli(['transfers', 'url', 'api-1', 'f1', ...api]);
    expect(url.stdout.trim()).toBe(`file://${dir}/store/api-1/f1/data.bin`);
  });

  it('exit codes: 4 no such transfer, 8 not possible in its state, 3 API unreachable', async () => {
    expect((await runCli(['transfers', 'get', 'api-1', 'nope', ...api])).code).toBe(4);
    expect((await runCli(['transfers', 'abort', 'api-1', 'f1', ...api])).code).toBe(8);
    expect((await runCli(['transfers', 'list', '--api', '127.0.0.1:1'])).code).toBe(3);
  });

  it('abort through the API stops the uploading device (exit 4, aborted)', async () => {
    const device = startCli(upload('api-2', 'slow', '--bandwidth', '64k', '--json'));
    await waitFor(
      async () => (await runCli(['transfers', 'get', 'api-2', 'slow', ...api])).code === 0,
      {
        what: 'the transfer to exist',
        timeoutMs: 20_000,
        intervalMs: 300,
      },
    );
    const aborted = await runCli(['transfers', 'abort', 'api-2', 'slow', '--json', ...api]);
    expect(aborted.code).toBe(0);
    expect(JSON.parse(aborted.stdout)).toMatchObject({ state: 'TRANSFER_STATE_ABORTED' });
    const run = await device.exited;
    expect(run.code).toBe(4);
    expect(JSON.parse(run.stdout)).toMatchObject({ error: { reasonDescription: 'aborted' } });
  });
});
