import { credentials, makeGenericClientConstructor, status } from '@grpc/grpc-js';
import {
  health,
  reflection,
  TransferState,
  type GetTransferResponse,
  type ListTransfersResponse,
  type Transfer,
} from '@mqft/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failure, Harness } from './harness.js';

const TOKEN = 'test-token-1';

describe('control API: Get, List, auth, errors, health, reflection', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.start({ tokens: [TOKEN, 'second-token'] });
  });
  afterAll(() => h?.close());

  it('GetTransfer returns a seeded transfer', async () => {
    const key = await h.seedReceiving('get-dev', 'file-1', {
      bytes: 40,
      userData: { site: 'north' },
    });
    const { transfer } = await h.call<GetTransferResponse>('getTransfer', {
      clientId: 'get-dev',
      fileId: 'file-1',
    });
    expect(transfer).toMatchObject({
      clientId: 'get-dev',
      fileId: 'file-1',
      key,
      name: 'file-1.bin',
      state: TransferState.TRANSFER_STATE_RECEIVING,
      declaredSize: 100,
      bytesReceived: 40,
      segmentCount: 1,
      userData: { site: 'north' },
    });
    expect(transfer?.createTime?.seconds).toBeGreaterThan(1_700_000_000);
  });

  it('GetTransfer: NOT_FOUND for an unknown transfer, INVALID_ARGUMENT for empty ids', async () => {
    expect(
      (await failure(h.call('getTransfer', { clientId: 'get-dev', fileId: 'nope' }))).code,
    ).toBe(status.NOT_FOUND);
    expect((await failure(h.call('getTransfer', { clientId: '', fileId: 'x' }))).code).toBe(
      status.INVALID_ARGUMENT,
    );
    expect((await failure(h.call('getTransfer', { clientId: 'x', fileId: '' }))).code).toBe(
      status.INVALID_ARGUMENT,
    );
  });

  it('UNAUTHENTICATED without a token or with a wrong one; any configured token works', async () => {
    await h.seedReceiving('auth-dev', 'f');
    const request = { clientId: 'auth-dev', fileId: 'f' };
    expect((await failure(h.call('getTransfer', request, { token: null }))).code).toBe(
      status.UNAUTHENTICATED,
    );
    expect((await failure(h.call('getTransfer', request, { token: 'wrong' }))).code).toBe(
      status.UNAUTHENTICATED,
    );
    expect((await failure(h.call('listTransfers', {}, { token: 'wrong' }))).code).toBe(
      status.UNAUTHENTICATED,
    );
    await expect(h.call('getTransfer', request, { token: 'second-token' })).resolves.toBeDefined();
  });

  it('ListTransfers filters by client, state and update time', async () => {
    const t0 = Date.now();
    await h.seedReceiving('list-a', 'r1', { now: t0 });
    await h.seedReceiving('list-a', 'r2', { now: t0 + 1 });
    await h.seedComplete('list-a', 'c1', Buffer.from('abc'), { now: t0 + 2 });
    await h.seedReceiving('list-b', 'r1', { now: t0 + 3 });
    const ids = (r: ListTransfersResponse) => r.transfers.map((t) => `${t.clientId}/${t.fileId}`);

    const a = await h.call<ListTransfersResponse>('listTransfers', { clientId: 'list-a' });
    expect(ids(a)).toEqual(['list-a/r1', 'list-a/r2', 'list-a/c1']);
    expect(a.nextPageToken).toBe('');
    const complete = await h.call<ListTransfersResponse>('listTransfers', {
      clientId: 'list-a',
      states: [TransferState.TRANSFER_STATE_COMPLETE],
    });
    expect(ids(complete)).toEqual(['list-a/c1']);
    const all = await h.call<ListTransfersResponse>('listTransfers', {
      states: [TransferState.TRANSFER_STATE_RECEIVING],
    });
    expect(ids(all)).toEqual(expect.arrayContaining(['list-a/r1', 'list-a/r2', 'list-b/r1']));
    expect(ids(all)).not.toContain('list-a/c1');
    const seconds = (ms: number) => ({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 });
    const late = await h.call<ListTransfersResponse>('listTransfers', {
      clientId: 'list-a',
      updatedAfter: seconds(t0 + 1),
    });
    expect(ids(late)).toEqual(['list-a/r2', 'list-a/c1']);
    const early = await h.call<ListTransfersResponse>('listTransfers', {
      clientId: 'list-a',
      updatedBefore: seconds(t0 + 1),
    });
    expect(ids(early)).toEqual(['list-a/r1']);
  });

  it('ListTransfers: INVALID_ARGUMENT for bad page sizes, tokens and filters', async () => {
    const invalid = async (request: object) =>
      expect((await failure(h.call('listTransfers', request))).code).toBe(status.INVALID_ARGUMENT);
    await invalid({ pageSize: 1001 });
    await invalid({ pageSize: -1 });
    await invalid({ pageToken: 'not-a-token' });
    await invalid({ clientId: '' });
    await invalid({ states: [42] });
    const first = await h.call<ListTransfersResponse>('listTransfers', {
      clientId: 'list-a',
      pageSize: 1,
    });
    expect(first.nextPageToken).not.toBe('');
    await invalid({ clientId: 'list-b', pageSize: 1, pageToken: first.nextPageToken });
  });

  it('pages neither skip nor repeat while transfers are created and updated concurrently', async () => {
    const client = 'page-dev';
    const base = Date.now();
    const initial: string[] = [];
    for (let i = 0; i < 60; i++)
      initial.push(await h.seedReceiving(client, `f${i}`, { now: base + Math.floor(i / 4) }));
    let busy = true;
    const churn = (async () => {
      for (let n = 0; busy; n++) {
        // New transfers (also with creation times inside the listed range) and updates.
        await h.seedReceiving(client, `new${n}`, { now: base + (n % 20) });
        const victim = initial[n % initial.length] as string;
        await h.store.recordSegment(victim, {
          offset: n * 10,
          seq: 100 + n,
          length: 10,
          now: Date.now(),
          ttlMs: 60_000,
          create: true,
        });
      }
    })();
    const seen: Transfer[] = [];
    try {
      let pageToken = '';
      do {
        const page = await h.call<ListTransfersResponse>('listTransfers', {
          clientId: client,
          pageSize: 7,
          pageToken,
        });
        seen.push(...page.transfers);
        pageToken = page.nextPageToken;
        await new Promise((resolve) => setTimeout(resolve, 5));
      } while (pageToken !== '');
    } finally {
      busy = false;
      await churn;
    }
    const keys = seen.map((t) => t.key);
    expect(new Set(keys).size).toBe(keys.length); // no repeats
    for (const key of initial) expect(keys).toContain(key); // no skips
    const order = seen.map(
      (t) => [t.createTime?.seconds ?? 0, t.createTime?.nanos ?? 0, t.key] as const,
    );
    const sorted = [...order].sort((a, b) => a[0] - b[0] || a[1] - b[1] || (a[2] < b[2] ? -1 : 1));
    expect(order).toEqual(sorted);
  });

  it('DEADLINE_EXCEEDED for a deadline already past', async () => {
    expect((await failure(h.call('listTransfers', {}, { timeoutMs: -1 }))).code).toBe(
      status.DEADLINE_EXCEEDED,
    );
  });

  it('serves grpc.health.v1 without a token', async () => {
    const client = new health.HealthClient(
      `127.0.0.1:${h.control.port}`,
      credentials.createInsecure(),
    );
    const check = (service: string) =>
      new Promise<health.HealthCheckResponse>((resolve, reject) =>
        client.check({ service }, (err, res) => (err ? reject(err) : resolve(res))),
      );
    const SERVING = health.HealthCheckResponse_ServingStatus.SERVING;
    expect((await check('')).status).toBe(SERVING);
    expect((await check('mqft.v1.TransferService')).status).toBe(SERVING);
    await expect(check('no.such.Service')).rejects.toMatchObject({ code: status.NOT_FOUND });
    const watch = client.watch({ service: '' });
    const first = await new Promise<health.HealthCheckResponse>((resolve) =>
      watch.once('data', resolve),
    );
    expect(first.status).toBe(SERVING);
    watch.cancel();
    watch.on('error', () => undefined);
    client.close();
  });

  it('lists the services through server reflection (v1 and v1alpha), without a token', async () => {
    const v1alpha = makeGenericClientConstructor(
      {
        serverReflectionInfo: {
          ...reflection.ServerReflectionService.serverReflectionInfo,
          path: '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo',
        },
      },
      'grpc.reflection.v1alpha.ServerReflection',
    ) as unknown as typeof reflection.ServerReflectionClient;
    for (const Client of [reflection.ServerReflectionClient, v1alpha]) {
      const client = new Client(`127.0.0.1:${h.control.port}`, credentials.createInsecure());
      const ask = (request: Partial<reflection.ServerReflectionRequest>) =>
        new Promise<reflection.ServerReflectionResponse>((resolve, reject) => {
          const stream = client.serverReflectionInfo();
          stream.on('data', (response: reflection.ServerReflectionResponse) => {
            resolve(response);
            stream.end();
          });
          stream.on('error', reject);
          stream.write(reflection.ServerReflectionRequest.fromPartial(request));
        });
      const listed = await ask({ listServices: '*' });
      expect(listed.listServicesResponse?.service.map((s) => s.name)).toEqual(
        expect.arrayContaining(['mqft.v1.TransferService', 'grpc.health.v1.Health']),
      );
      const file = await ask({ fileContainingSymbol: 'mqft.v1.TransferService' });
      expect(file.fileDescriptorResponse?.fileDescriptorProto.length).toBeGreaterThan(2);
      client.close();
    }
  });
});
