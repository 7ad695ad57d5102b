import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { credentials, Metadata, status } from '@grpc/grpc-js';
import { TransferServiceClient } from '@mqft/api';
import { createLogger } from '@mqft/config';
import {
  freePort,
  sharedNatsUrl,
  sharedRedisUrl,
  startNats,
  SERVICE_RUNTIME_ENV,
  startRedis,
  uniqueName,
  waitFor,
  type ServerHandle,
} from '@mqft/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadControlConfig } from '../src/config.js';
import { startControl } from '../src/control.js';
import { failure, Harness, Watch } from './harness.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

describe('control: dependencies and lifecycle', () => {
  let redis: ServerHandle;
  let h: Harness;
  beforeAll(async () => {
    redis = await startRedis();
    h = await Harness.start({ redisUrl: redis.url });
  });
  afterAll(async () => {
    await h?.close();
    await redis?.stop();
  });

  it('UNAVAILABLE while Redis is down, and again OK once it is back', async () => {
    await h.seedReceiving('dep-dev', 'f');
    await expect(
      h.call('getTransfer', { clientId: 'dep-dev', fileId: 'f' }),
    ).resolves.toBeDefined();
    await redis.kill();
    await waitFor(() => !h.control.checks.redis?.(), { what: 'the control service to notice' });
    const started = Date.now();
    expect((await failure(h.call('getTransfer', { clientId: 'dep-dev', fileId: 'f' }))).code).toBe(
      status.UNAVAILABLE,
    );
    expect((await failure(h.call('listTransfers', {}))).code).toBe(status.UNAVAILABLE);
    expect(Date.now() - started).toBeLessThan(2000);
    await redis.restart();
    await waitFor(() => h.control.checks.redis?.() === true, {
      what: 'Redis to be back',
      timeoutMs: 15_000,
    });
    // Redis kept nothing on disk: until the assemblers rebuilt the state from the stream,
    // "not found" would be a lie, so the answer is UNAVAILABLE; then a plain NOT_FOUND.
    const get = () => failure(h.call('getTransfer', { clientId: 'dep-dev', fileId: 'f' }));
    expect((await get()).code).toBe(status.UNAVAILABLE);
    expect((await get()).details).toMatch(/being rebuilt/);
    await h.epoch.markWhole();
    expect((await get()).code).toBe(status.NOT_FOUND);
  });

  it('ends watches with UNAVAILABLE and turns unready when NATS is lost, and recovers', async () => {
    const nats = await startNats();
    const own = await Harness.start({ natsUrl: nats.url });
    try {
      const w = new Watch(own.client, { clientId: 'nats-dev' }, own.metadata());
      await waitFor(() => w.snapshotDone);
      await nats.kill();
      await waitFor(() => w.error !== undefined, { what: 'the watch to end' });
      expect(w.error?.code).toBe(status.UNAVAILABLE);
      expect(own.control.checks.nats?.()).toBe(false);
      await nats.restart();
      await waitFor(() => own.control.checks.nats?.() === true, {
        what: 'NATS to be back',
        timeoutMs: 15_000,
      });
      const again = new Watch(own.client, { clientId: 'nats-dev' }, own.metadata());
      await waitFor(() => again.snapshotDone);
      again.cancel();
    } finally {
      await own.close();
      await nats.stop();
    }
  });

  it('refuses to listen beyond loopback without tokens, unless told to', async () => {
    const env = {
      MQFT_GRPC_ADDR: '0.0.0.0:0',
      MQFT_REDIS_URL: sharedRedisUrl(),
      MQFT_NATS_URL: sharedNatsUrl(),
    };
    await expect(startControl(loadControlConfig(env), createLogger('t', 'silent'))).rejects.toThrow(
      /gRPC API on 0\.0\.0\.0 without MQFT_API_TOKENS/,
    );
    const http = { ...env, MQFT_GRPC_ADDR: '127.0.0.1:0', MQFT_HTTP_API_ADDR: '0.0.0.0:0' };
    await expect(
      startControl(loadControlConfig(http), createLogger('t', 'silent')),
    ).rejects.toThrow(/HTTP API on 0\.0\.0\.0 without MQFT_API_TOKENS/);
  });

  it.skipIf(!existsSync('/usr/bin/openssl'))(
    'serves TLS when a certificate and key are configured',
    async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'mqft-tls-'));
      const [cert, key] = [path.join(dir, 'cert.pem'), path.join(dir, 'key.pem')];
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-keyout',
          key,
          '-out',
          cert,
          '-days',
          '1',
          '-subj',
          '/CN=localhost',
          '-addext',
          'subjectAltName=DNS:localhost,IP:127.0.0.1',
        ],
        { stdio: 'ignore' },
      );
      const secure = await Harness.start({
        env: { MQFT_GRPC_TLS_CERT: cert, MQFT_GRPC_TLS_KEY: key },
      });
      const tlsClient = new TransferServiceClient(
        `localhost:${secure.control.port}`,
        credentials.createSsl(readFileSync(cert)),
      );
      try {
        const ask = (client: TransferServiceClient) =>
          new Promise<number | undefined>((resolve) =>
            client.getTransfer(
              { clientId: 'tls', fileId: 'f' },
              new Metadata(),
              { deadline: Date.now() + 5000 },
              (e) => resolve(e?.code),
            ),
          );
        expect(await ask(tlsClient)).toBe(status.NOT_FOUND); // the handshake worked, the call was served
        expect(await ask(secure.client)).toBe(status.UNAVAILABLE); // plaintext is refused
      } finally {
        tlsClient.close();
        await secure.close();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  // The bundle containers run (dist/control.mjs, built by the integration tests' global setup).
  it('runs as a process from its bundle: ready on /readyz, serves gRPC and HTTP, stops on SIGTERM', async () => {
    const [grpcPort, httpPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const child = spawn(process.execPath, ['--enable-source-maps', 'dist/control.mjs'], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        ...SERVICE_RUNTIME_ENV,
        MQFT_GRPC_ADDR: `127.0.0.1:${grpcPort}`,
        MQFT_HTTP_API_ADDR: `127.0.0.1:${apiPort}`,
        MQFT_HTTP_ADDR: `127.0.0.1:${httpPort}`,
        MQFT_REDIS_URL: sharedRedisUrl(),
        MQFT_REDIS_PREFIX: `${uniqueName('control_proc')}:`,
        MQFT_NATS_URL: sharedNatsUrl(),
        MQFT_STREAM: uniqueName('CONTROL_PROC'),
        MQFT_STORAGE: `file://${h.dataDir}`,
        MQFT_API_TOKENS: 'proc-token',
        MQFT_SHUTDOWN_GRACE: '2s',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    child.stdout.on('data', (chunk: Buffer) => (log += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => resolve(code)),
    );
    try {
      await waitFor(
        async () =>
          log.includes('ops endpoints listening') &&
          (await fetch(`http://127.0.0.1:${httpPort}/readyz`)).status === 200,
        {
          what: `/readyz (log: ${log})`,
          timeoutMs: 30_000,
        },
      );
      const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
      const client = new TransferServiceClient(
        `127.0.0.1:${grpcPort}`,
        credentials.createInsecure(),
      );
      const err = await new Promise<{ code?: number }>((resolve) =>
        client.getTransfer({ clientId: 'p', fileId: 'q' }, (e) => resolve(e ?? {})),
      );
      expect(err.code).toBe(status.UNAUTHENTICATED);
      client.close();
      const after = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
      expect(metrics).toContain('mqft_control_rpc_total');
      expect(after).toMatch(
        /mqft_control_rpc_total\{[^}]*method="GetTransfer"[^}]*code="UNAUTHENTICATED"[^}]*\} 1/,
      );
      const api = `http://127.0.0.1:${apiPort}/api/v1/transfers`;
      expect((await fetch(api)).status).toBe(401);
      // The token is accepted; the fresh prefix was never marked whole, so the state counts
      // as being rebuilt: 503, as the gRPC API answers UNAVAILABLE.
      const authorized = await fetch(api, { headers: { authorization: 'Bearer proc-token' } });
      expect(authorized.status).toBe(503);
      expect(((await authorized.json()) as { code: string }).code).toBe('SERVICE_UNAVAILABLE');
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(log).toContain('gRPC and HTTP APIs stopped');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
