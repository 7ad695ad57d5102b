import {
  GetTransferRequest,
  ListTransfersRequest,
  type GetTransferResponse,
  type ListTransfersResponse,
} from '@mqft/api';
import { canonicalFileMeta, transferKey } from '@mqft/protocol';
import { CreatedIndexes, createRedis, TransferStore } from '@mqft/state';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostileHarness } from './harness.js';
import { call } from '../harness/api-client.js';

// Issue 14, case 8: a user_data nested 33 objects deep made ListTransfers (and Watch)
// undecodable for mqft's own ts-proto client (its recursion limit is 100 nested messages, and
// every JSON object level is three: Value, Struct, Struct.FieldsEntry), so one device broke
// every operator's list. Through the real gRPC API of a running control service.
const nested = (levels: number): unknown => {
  let value: unknown = 1;
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
};

describe('hostile device: the operators’ API stays decodable', () => {
  let h: HostileHarness;
  const list = (clientId: string) =>
    call<ListTransfersResponse>((done) =>
      h.api.listTransfers(ListTransfersRequest.fromPartial({ clientId, pageSize: 50 }), done),
    );

  beforeAll(async () => {
    h = await HostileHarness.start({ control: true });
  });
  afterAll(() => h?.stop());

  it('user_data nested 33 levels is refused at init; ListTransfers still decodes', async () => {
    const d = await h.device();
    const init = await d.send(
      '$file/deep33/init',
      JSON.stringify({ name: 'd.bin', user_data: nested(33) }),
    );
    expect(init).toMatchObject({ reason_code: 0x83, reason_description: 'invalid_filemeta' });
    // What the limit still allows decodes: the deepest user_data MQFT_MAX_FILEMETA_DEPTH admits.
    const ok = await d.send(
      '$file/deep15/init',
      JSON.stringify({ name: 'd.bin', user_data: nested(15) }),
    );
    expect(ok).toMatchObject({ reason_code: 0 });
    const listed = await list(d.clientId);
    expect(listed.transfers.map((t) => t.fileId)).toEqual(['deep15']);
    expect(listed.transfers[0]?.userData).toEqual(nested(15));
    await h.afterCase();
  });

  it('a record stored before the limit is listed without its user_data, never undecodable', async () => {
    const redis = createRedis(h.stack.env.MQFT_REDIS_URL as string);
    const store = new TransferStore(redis, h.stack.redisPrefix);
    const clientId = 'legacy-device';
    const key = transferKey({ clientId, fileId: 'old' });
    const meta = { name: 'old.bin', user_data: nested(60) };
    const now = Date.now();
    try {
      await store.recordInit(key, {
        canonical: canonicalFileMeta(meta),
        filemetaJson: JSON.stringify(meta),
        name: meta.name,
        clientId,
        fileId: 'old',
        now,
        ttlMs: 60_000,
      });
      await new CreatedIndexes(redis, h.stack.redisPrefix, {
        maxListed: 1000,
        maxListedPerClient: 1000,
      }).indexTransfer(key, now);
    } finally {
      redis.disconnect();
    }
    const listed = await list(clientId);
    expect(listed.transfers.map((t) => t.fileId)).toEqual(['old']);
    expect(listed.transfers[0]?.userData).not.toEqual(nested(60));
    const got = await call<GetTransferResponse>((done) =>
      h.api.getTransfer(GetTransferRequest.fromPartial({ clientId, fileId: 'old' }), done),
    );
    expect(got.transfer?.name).toBe('old.bin');
    await h.afterCase();
  });
});
