import { status } from '@grpc/grpc-js';
import { TransferState, type AbortTransferResponse, type GetTransferResponse } from '@mqft/api';
import { ANONYMOUS_CLIENT_ID, transferKey } from '@mqft/protocol';
import { commandSubject, decodeCommandHeaders, type StreamCommand } from '@mqft/stream';
import { waitFor } from '@mqft/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failure, Harness } from './harness.js';

describe('control API: AbortTransfer', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.start({ env: { MQFT_ABORT_WAIT: '1500ms' } });
  });
  afterAll(() => h?.close());

  /** The command the API put into the stream for this transfer, once there. */
  async function storedCommand(key: string): Promise<{ command: StreamCommand; seq: number }> {
    let found: { command: StreamCommand; seq: number } | undefined;
    await waitFor(
      async () => {
        const msg = await h.jsm.streams
          .getMessage(h.stream, { last_by_subj: commandSubject(h.stream, key) })
          .catch(() => null);
        if (msg) found = { command: decodeCommandHeaders(msg.header), seq: msg.seq };
        return found !== undefined;
      },
      { what: 'the abort command in the stream' },
    );
    return found as { command: StreamCommand; seq: number };
  }

  it('puts an abort command into the stream, as a device would, and returns the ABORTED transfer', async () => {
    const key = await h.seedReceiving('ab-dev', 'f-1', { bytes: 10 });
    const call = h.call<AbortTransferResponse>('abortTransfer', {
      clientId: 'ab-dev',
      fileId: 'f-1',
    });
    const { command } = await storedCommand(key);
    expect(command).toEqual({
      kind: 'abort',
      key,
      reply: { deviceTopic: '$file/f-1/abort', responseTopic: '$file-response/ab-dev' },
    });
    await h.abortAsAssembler(key, 'ab-dev', 'f-1');
    const { transfer } = await call;
    expect(transfer).toMatchObject({
      key,
      state: TransferState.TRANSFER_STATE_ABORTED,
      bytesReceived: 0,
    });
  });

  it('an anonymous transfer gets no response topic', async () => {
    const key = await h.seedReceiving(ANONYMOUS_CLIENT_ID, 'anon-1');
    const call = h.call<AbortTransferResponse>('abortTransfer', {
      clientId: ANONYMOUS_CLIENT_ID,
      fileId: 'anon-1',
    });
    const { command } = await storedCommand(key);
    expect(command.reply).toEqual({ deviceTopic: '$file/anon-1/abort' });
    await h.abortAsAssembler(key, ANONYMOUS_CLIENT_ID, 'anon-1');
    expect((await call).transfer?.state).toBe(TransferState.TRANSFER_STATE_ABORTED);
  });

  it('an aborted transfer answers at once, without another command', async () => {
    const key = await h.seedReceiving('ab-dev', 'again');
    await h.abortAsAssembler(key, 'ab-dev', 'again');
    const { transfer } = await h.call<AbortTransferResponse>('abortTransfer', {
      clientId: 'ab-dev',
      fileId: 'again',
    });
    expect(transfer?.state).toBe(TransferState.TRANSFER_STATE_ABORTED);
    expect(
      await h.jsm.streams
        .getMessage(h.stream, { last_by_subj: commandSubject(h.stream, key) })
        .catch(() => null),
    ).toBeNull();
  });

  it('FAILED_PRECONDITION for a complete transfer, NOT_FOUND for an unknown one, INVALID_ARGUMENT without ids', async () => {
    await h.seedComplete('ab-dev', 'done', Buffer.from('abc'));
    expect(
      (await failure(h.call('abortTransfer', { clientId: 'ab-dev', fileId: 'done' }))).code,
    ).toBe(status.FAILED_PRECONDITION);
    expect(
      (await failure(h.call('abortTransfer', { clientId: 'ab-dev', fileId: 'unknown' }))).code,
    ).toBe(status.NOT_FOUND);
    expect((await failure(h.call('abortTransfer', { clientId: 'ab-dev' }))).code).toBe(
      status.INVALID_ARGUMENT,
    );
  });

  it('FAILED_PRECONDITION for a failed transfer: it stays FAILED with its error', async () => {
    await h.seedFailed('ab-dev', 'given-up');
    expect(
      (await failure(h.call('abortTransfer', { clientId: 'ab-dev', fileId: 'given-up' }))).code,
    ).toBe(status.FAILED_PRECONDITION);
    const { transfer } = await h.call<GetTransferResponse>('getTransfer', {
      clientId: 'ab-dev',
      fileId: 'given-up',
    });
    expect(transfer).toMatchObject({
      state: TransferState.TRANSFER_STATE_FAILED,
      error: { reasonCode: 0x83, reasonDescription: 'assembly_failed' },
    });
  });

  it('without an assembler: DEADLINE_EXCEEDED within a short deadline, else the current state after the wait', async () => {
    await h.seedReceiving('ab-slow', 'f');
    const started = Date.now();
    expect(
      (
        await failure(
          h.call('abortTransfer', { clientId: 'ab-slow', fileId: 'f' }, { timeoutMs: 500 }),
        )
      ).code,
    ).toBe(status.DEADLINE_EXCEEDED);
    expect(Date.now() - started).toBeLessThan(1400);
    const { transfer } = await h.call<AbortTransferResponse>('abortTransfer', {
      clientId: 'ab-slow',
      fileId: 'f',
    });
    expect(transfer?.state).toBe(TransferState.TRANSFER_STATE_RECEIVING);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
    // Both requests are queued in the stream for the assembler.
    const info = await h.jsm.streams.info(h.stream, {
      subjects_filter: commandSubject(h.stream, transferKey({ clientId: 'ab-slow', fileId: 'f' })),
    });
    expect(info.state.messages).toBeGreaterThanOrEqual(2);
  });
});
