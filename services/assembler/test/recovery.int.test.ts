import { afterEach, describe, expect, it } from 'vitest';
import { rebuildLockKey } from '@mqft/state';
import { waitFor } from '@mqft/test-support';
import { assembleTransfer } from '../src/assemble.js';
import { StateRecovery } from '../src/recovery.js';
import { readLocation, sha256, TestAssembler, testBytes } from './context.js';

// Redis without its data (a fresh prefix has none): the recovery replays the stream into it.
describe('StateRecovery', () => {
  let t: TestAssembler;
  let recovery: StateRecovery | undefined;

  afterEach(async () => {
    await recovery?.stop();
    recovery = undefined;
    await t?.close();
  });

  const recover = async () => {
    recovery = new StateRecovery(t.ctx, t.js);
    recovery.start();
    await waitFor(() => t.ctx.epoch.isWhole(), { what: 'the state marked whole' });
    await recovery.stop();
  };

  it('replays every command into Redis without answering devices again', async () => {
    t = await TestAssembler.create();
    const [ready, partial] = [t.transfer(), t.transfer()];
    const content = testBytes(1_500);
    await ready.init({ name: 'r.bin' });
    const segs = [await ready.seg(0, content.subarray(0, 1_000))];
    segs.push(await ready.seg(1_000, content.subarray(1_000)));
    await ready.fin(1_500, sha256(content));
    await partial.init({ name: 'p.bin' });
    await partial.seg(0, testBytes(10));

    await recover();

    expect(await t.ctx.store.get(ready.key)).toMatchObject({
      state: 'receiving',
      name: 'r.bin',
      bytes: 1_500,
      finSize: 1_500,
      expectedChecksum: sha256(content),
    });
    expect(await t.ctx.store.segments(ready.key)).toEqual([
      { offset: 0, seq: segs[0]!.stored.seq, length: 1_000 },
      { offset: 1_000, seq: segs[1]!.stored.seq, length: 500 },
    ]);
    expect(await t.ctx.store.get(partial.key)).toMatchObject({ state: 'receiving', bytes: 10 });
    expect(await t.ctx.store.get(partial.key)).not.toHaveProperty('finSize');
    expect(t.results).toEqual([]);
    expect(t.requested).toEqual([ready.key]);
    expect(await t.redis.get(rebuildLockKey(t.config.redisPrefix))).toBeNull();
    expect(t.logged('transfer state rebuilt from the stream')).toMatchObject([
      { replayed: 6, transfers: 2 },
    ]);

    // The fin's reply was kept: the device learns the outcome when the transfer completes.
    const lease = await t.lease(ready.key);
    const record = await t.ctx.store.get(ready.key);
    expect(await assembleTransfer(t.ctx, lease, record!, new AbortController().signal)).toBe(
      'complete',
    );
    expect(t.resultsFor(ready.key, 'fin')).toEqual([
      { reason: 'success', location: (await t.ctx.store.get(ready.key))?.location },
    ]);
  });

  it('marks complete a rebuilt transfer whose verified file storage holds already', async () => {
    t = await TestAssembler.create();
    const content = testBytes(2_000);
    const transfer = t.transfer();
    await transfer.upload(content);
    const lease = await t.lease(transfer.key);
    const record = await t.ctx.store.get(transfer.key);
    expect(await assembleTransfer(t.ctx, lease, record!, new AbortController().signal)).toBe(
      'complete',
    );
    await t.ctx.purger.settled();
    const { location } = (await t.ctx.store.get(transfer.key)) ?? {};
    // Redis lost everything while the purge was deleting: the init and a segment were left.
    await t.redis.del(...(await t.redis.keys(`${t.config.redisPrefix}*`)));
    await transfer.init({ name: 'data.bin', size: 2_000 });
    await transfer.seg(0, content.subarray(0, 1_000));
    const eventsBefore = t.events.length;

    await recover();

    expect(await t.ctx.store.get(transfer.key)).toMatchObject({
      state: 'complete',
      location,
      size: 2_000,
      checksum: sha256(content),
    });
    expect(await t.metric('mqft_assembler_assemblies_total', { result: 'already_stored' })).toBe(1);
    expect(t.events.slice(eventsBefore)).toEqual([
      { key: transfer.key, state: 'receiving' },
      { key: transfer.key, state: 'complete', location },
    ]);
    expect(await readLocation(location!)).toEqual(content);
    await t.ctx.purger.settled();
    expect(await t.storedMessages(transfer.key)).toBe(0);
  });
});
