import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ResumeRecord } from '@mqft/client';
import { sha256Hex } from '@mqft/protocol';
import { startMqftStack, waitFor, type MqftStack } from '@mqft/test-support';
import { BrokerSpy } from '../../client/test/broker-spy.js';
import { runCli, startCli } from './run-cli.js';

describe('mqft upload as a child process, against the real pipeline', () => {
  let stack: MqftStack;
  let spy: BrokerSpy;
  let dir: string;
  let file: string;
  let data: Buffer;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mqft-cli-'));
    stack = await startMqftStack({ storage: `file://${join(dir, 'store')}` });
    spy = await BrokerSpy.start(stack.mqttUrl);
    data = randomBytes(2 * 1024 * 1024);
    file = join(dir, 'report.bin');
    await writeFile(file, data);
  });
  afterAll(async () => {
    await spy?.stop();
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => spy.reset());

  const device = (...more: string[]) => ['upload', file, '--broker', stack.mqttUrl, ...more];
  const stored = (clientId: string, fileId: string) =>
    `file://${dir}/store/${clientId}/${fileId}/report.bin`;

  it('uploads (exit 0) and prints where the file landed', async () => {
    const run = await runCli(device('--client-id', 'cli-1', '--file-id', 'f1'));
    expect(run.stderr).toMatch(/progress 100\.0%/);
    expect(run.code).toBe(0);
    const location = /^location: (\S+)$/m.exec(run.stdout)?.[1] as string;
    expect(location).toBe(stored('cli-1', 'f1'));
    expect(sha256Hex(await readFile(fileURLToPath(location)))).toBe(sha256Hex(data));
  });

  it('--json prints one document for scripts', async () => {
    const run = await runCli(device('--client-id', 'cli-1', '--file-id', 'f2', '--json'));
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({
      ok: true,
      location: stored('cli-1', 'f2'),
      clientId: 'cli-1',
      fileId: 'f2',
      size: data.length,
      checksum: sha256Hex(data),
      // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- vitest types its asymmetric matchers any
      stats: expect.objectContaining({ resumedBytes: 0 }),
    });
  });

  it('exit codes: 3 unreachable broker, 7 checksum mismatch, 4 refused, 2 bad usage', async () => {
    const unreachable = await runCli([
      'upload',
      file,
      '--broker',
      'mqtt://127.0.0.1:1',
      '--client-id',
      'x',
    ]);
    expect(unreachable.code).toBe(3);
    const wrong = await runCli(
      device('--client-id', 'cli-1', '--checksum', 'ab'.repeat(32), '--json'),
    );
    expect(JSON.parse(wrong.stdout)).toMatchObject({
      ok: false,
      exitCode: 7,
      error: { kind: 'checksum_mismatch' },
    });
    expect(wrong.code).toBe(7);
    const refused = await runCli(device('--client-id', 'cli-1', '--name', 'a:b'));
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(/invalid_filemeta/);
    const usage = await runCli(['upload', file, '--client-id', 'x', '--mqtt-version', '3']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--layout scoped/);
  });

  it('SIGINT sends abort: exit 6', async () => {
    const cli = startCli(device('--client-id', 'cli-2', '--file-id', 'int', '--bandwidth', '256k'));
    await waitFor(() => spy.segments >= 2, { what: 'segments', timeoutMs: 20_000 });
    cli.child.kill('SIGINT');
    const run = await cli.exited;
    expect(run.code).toBe(6);
    expect(spy.results.find((r) => r.topic === '$file/int/abort')).toMatchObject({
      reason_code: 0,
    });
  });

  it('killed and restarted with --resume-file: only the unconfirmed bytes go again', async () => {
    const resumeFile = join(dir, 'report.resume');
    const args = device('--client-id', 'cli-3', '--resume-file', resumeFile, '--json');
    const first = startCli([...args, '--bandwidth', '512k']);
    await waitFor(() => spy.segmentBytes > data.length * 0.4, { what: '40 %', timeoutMs: 30_000 });
    first.child.kill('SIGKILL');
    await first.exited;
    const record = JSON.parse(await readFile(resumeFile, 'utf8')) as ResumeRecord;
    const confirmed = record.confirmed.reduce((n, [s, e]) => n + e - s, 0);
    expect(confirmed).toBeGreaterThan(data.length * 0.3);
    const sentBefore = spy.segmentBytes;
    spy.reset();

    const second = await runCli(args);
    expect(second.code).toBe(0);
    const result = JSON.parse(second.stdout) as { location: string };
    expect(result).toMatchObject({ fileId: record.fileId, stats: { resumedBytes: confirmed } });
    expect(spy.segmentBytes).toBe(data.length - confirmed);
    console.log(
      `resume: first run sent ${sentBefore} B before SIGKILL, the record confirmed ${confirmed} B, ` +
        `the second run sent ${spy.segmentBytes} B of ${data.length} B`,
    );
    expect(sha256Hex(await readFile(fileURLToPath(result.location)))).toBe(sha256Hex(data));
    await expect(stat(resumeFile)).rejects.toThrow();
  });
});
