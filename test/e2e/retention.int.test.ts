import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { status, type ServiceError } from '@grpc/grpc-js';
import type { GetTransferResponse, Transfer, TransferServiceClient } from '@mqft/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMqftStack, waitFor, type MqftStack } from '@mqft/test-support';
import { TestDevice, sha256 } from './device.js';
import { stackApiClient } from '../harness/api-client.js';

/**
 * Retention through real processes (MQFT_RETENTION_ENABLED on the assembler): the API says
 * when a file goes, and at that time the file and its record are gone.
 */
describe('retention over a running stack', () => {
  let stack: MqftStack;
  let dir: string;
  let api: TransferServiceClient;
  let device: TestDevice;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mqft-retention-'));
    stack = await startMqftStack({
      storage: `file://${dir}`,
      control: true,
      env: { MQFT_RETENTION_ENABLED: 'true', MQFT_RETENTION_MAX: '30d' },
    });
    api = stackApiClient(stack);
    device = await TestDevice.connect(stack.mqttUrl);
  });
  afterAll(async () => {
    api?.close();
    await device?.close();
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const get = (fileId: string) =>
    new Promise<Transfer | undefined>((resolve, reject) =>
      api.getTransfer(
        { clientId: device.clientId, fileId },
        (err: ServiceError | null, res?: GetTransferResponse) =>
          err?.code === status.NOT_FOUND
            ? resolve(undefined)
            : err
              ? reject(err)
              : resolve(res?.transfer),
      ),
    );
  const exists = (location: string) =>
    stat(fileURLToPath(location)).then(
      () => true,
      () => false,
    );
  const upload = async (fileId: string, meta: Record<string, unknown>) => {
    const data = randomBytes(2048);
    expect(
      await device.init(fileId, { name: `${fileId}.bin`, size: data.length, ...meta }),
    ).toMatchObject({
      reason_code: 0,
    });
    expect(await device.segment(fileId, 0, data)).toMatchObject({ reason_code: 0 });
    const fin = await device.fin(fileId, data.length, sha256(data));
    expect(fin).toMatchObject({ reason_code: 0 });
    return fin.location ?? '';
  };

  it('a file whose expire_at comes is deleted with its record; a file without one stays', async () => {
    const expireAt = Math.floor(Date.now() / 1000) + 4;
    const expiring = await upload('expiring', { expire_at: expireAt });
    const kept = await upload('kept', {});
    // The API says when each goes: expire_at, and for the other the deployment's maximum.
    const transfer = await get('expiring');
    expect(transfer?.deleteTime).toEqual({ seconds: expireAt, nanos: 0 });
    const keptTransfer = await get('kept');
    const keptDeleteS = (keptTransfer?.deleteTime?.seconds ?? 0) - Date.now() / 1000;
    expect(keptDeleteS).toBeGreaterThan(29 * 86_400);
    expect(keptDeleteS).toBeLessThanOrEqual(30 * 86_400);
    expect(await exists(expiring)).toBe(true);

    // The file goes first, then its record.
    await waitFor(async () => !(await exists(expiring)) && (await get('expiring')) === undefined, {
      timeoutMs: 20_000,
      what: 'the expiring file deleted with its record',
    });
    expect(Date.now()).toBeGreaterThanOrEqual(expireAt * 1000);
    expect(await get('expiring')).toBeUndefined();
    expect(await exists(kept)).toBe(true);
    expect(await get('kept')).toBeDefined();
  });
});
