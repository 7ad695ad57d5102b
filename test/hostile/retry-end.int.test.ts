import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { GetTransferRequest, TransferState, type GetTransferResponse } from '@mqft/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostileHarness } from './harness.js';
import { call } from '../harness/api-client.js';

// Issue 14, case 2: no retry without end. An assembly that can never succeed used to be
// retried every 3 s for ever: the fin never answered, each resent fin renewing the TTL, enough
// such transfers holding every assembly slot. Now it ends the transfer failed: the device hears
// 0x83 assembly_failed within seconds, the API says FAILED, a well-behaved upload completes.

describe('hostile device: no retry without end', () => {
  let h: HostileHarness;

  beforeAll(async () => {
    h = await HostileHarness.start({ control: true });
  });
  afterAll(() => h?.stop());

  it('storage refusing the file for good: the fin hears 0x83 assembly_failed, the API says FAILED', async () => {
    const d = await h.device();
    // The file store cannot ever write this file: a directory stands at its path (EISDIR).
    const filePath = path.join(h.dir, 'files', d.clientId, 'refused', 'r.bin');
    await mkdir(path.join(filePath, 'in-the-way'), { recursive: true });
    const data = Buffer.from('never to be stored');
    expect(await d.send('$file/refused/init', JSON.stringify({ name: 'r.bin' }))).toMatchObject({
      reason_code: 0,
    });
    expect(await d.send('$file/refused/0', data)).toMatchObject({ reason_code: 0 });

    const started = Date.now();
    const fin = await d.send(`$file/refused/fin/${data.length}`, '', { timeoutMs: 5_000 });
    expect(fin).toMatchObject({ reason_code: 0x83, reason_description: 'assembly_failed' });
    console.log(`retry-end: fin answered ${fin.reason_description} in ${Date.now() - started} ms`);

    const got = await call<GetTransferResponse>((done) =>
      h.api.getTransfer(
        GetTransferRequest.fromPartial({ clientId: d.clientId, fileId: 'refused' }),
        done,
      ),
    );
    expect(got.transfer).toMatchObject({
      state: TransferState.TRANSFER_STATE_FAILED,
      error: { reasonCode: 0x83, reasonDescription: 'assembly_failed' },
    });
    // A resent fin is told the same at once; nothing is retried behind it.
    expect(
      await d.send(`$file/refused/fin/${data.length}`, '', { timeoutMs: 2_000 }),
    ).toMatchObject({ reason_code: 0x83, reason_description: 'assembly_failed' });
    const assembler = h.stack.assemblers[0];
    if (!assembler) throw new Error('no assembler');
    const logs = await h.logs(assembler);
    expect(logs.filter((l) => l.includes('transfer failed: assembly given up'))).toHaveLength(1);
    expect(logs.filter((l) => l.includes('will retry'))).toHaveLength(0);
    await h.afterCase();
  });
});
