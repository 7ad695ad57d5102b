import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '@mqft/protocol';
import { upload, UploadError, type ResumeRecord, type UploadOptions } from '../src/index.js';
import { FakeClient, type Published } from './fake-client.js';

const fast: UploadOptions = {
  segmentSize: 10,
  window: 3,
  resultTimeoutMs: 40,
  retry: { maxAttempts: 4, backoffMs: 5, backoffCapMs: 20 },
};
const data = Buffer.from('0123456789abcdefghijABCDEFGHIJklmnopqrst!'); // 41 bytes, 5 segments
const offsetOf = (p: Published) => (p.command.kind === 'segment' ? p.command.offset : -1);

describe('upload reacts to results as the protocol says', () => {
  it('sends init, segments with checksums, fin with the file checksum (MQTT 5 properties)', async () => {
    const client = new FakeClient();
    // Every command is answered at once: a result timeout long enough that a stalled event
    // loop (a loaded machine) never makes the SDK resend, which this test counts.
    const options = { ...fast, resultTimeoutMs: 5_000, fileId: 'f', name: 'n' };
    const result = await upload(client.asMqtt, data, options).done;
    expect(result).toMatchObject({ location: 'mem://f', size: 41, checksum: sha256Hex(data) });
    expect(client.published[0]?.topic).toBe('$file/f/init');
    expect(JSON.parse(client.published[0]!.payload.toString())).toEqual({
      name: 'n',
      size: 41,
      checksum: sha256Hex(data),
    });
    expect(
      client
        .sent('segment')
        .map(offsetOf)
        .sort((a, b) => a - b),
    ).toEqual([0, 10, 20, 30, 40]);
    expect(client.sent('segment')[1]?.topic).toBe(`$file/f/10/${sha256Hex(data.subarray(10, 20))}`);
    expect(client.published.at(-1)?.topic).toBe(`$file/f/fin/41/${sha256Hex(data)}`);
  });

  it('resends a segment answered 0x80 and one whose result got lost', async () => {
    const client = new FakeClient();
    const seen = new Map<number, number>();
    client.answer = (p) => {
      const offset = offsetOf(p);
      const count = (seen.get(offset) ?? 0) + 1;
      seen.set(offset, count);
      if (offset === 10 && count === 1)
        return { reason_code: 0x80, reason_description: 'checksum_mismatch' };
      if (offset === 20 && count === 1) return 'drop';
      return undefined;
    };
    await upload(client.asMqtt, data, fast).done;
    expect(seen.get(10)).toBe(2);
    expect(seen.get(20)).toBe(2);
    expect(seen.get(0)).toBe(1);
  });

  it('after an incomplete fin sends exactly the missing ranges, then fin again', async () => {
    const client = new FakeClient();
    let fins = 0;
    client.answer = (p) => {
      if (p.command.kind !== 'fin' || ++fins > 1) return undefined;
      return { reason_code: 0x80, reason_description: 'incomplete', missing: [[12, 25]] };
    };
    await upload(client.asMqtt, data, fast).done;
    const afterFin = client.published.slice(
      client.published.findIndex((p) => p.command.kind === 'fin') + 1,
    );
    // init again (a no-op if the cluster still has it; it may have lost it), then the ranges.
    expect(afterFin[0]?.command.kind).toBe('init');
    expect(afterFin.slice(1).map((p) => [offsetOf(p), p.payload.length])).toEqual([
      [12, 8],
      [20, 5],
      [-1, 0],
    ]);
    expect(afterFin[1]?.payload.toString()).toBe('cdefghij');
  });

  it('after a fin that lists only the first ranges (missing_more), keeps going past retry.maxAttempts', async () => {
    // The cluster lists one range per answer and flags the rest: 6 such rounds, more than
    // the 4 attempts `fast` allows; each one is progress, not a failure.
    const client = new FakeClient();
    const ranges: [number, number][] = [0, 6, 12, 18, 24, 30].map((s) => [s, s + 1]);
    let fins = 0;
    client.answer = (p) => {
      if (p.command.kind !== 'fin') return undefined;
      const range = ranges[fins++];
      if (range === undefined) return undefined;
      return {
        reason_code: 0x80,
        reason_description: 'incomplete',
        missing: [range],
        ...(fins < ranges.length ? { missing_more: true as const } : {}),
      };
    };
    await upload(client.asMqtt, data, fast).done;
    expect(fins).toBe(ranges.length + 1);
    const resent = client.published
      .slice(client.published.findIndex((p) => p.command.kind === 'fin'))
      .filter((p) => p.command.kind === 'segment')
      .map(offsetOf);
    expect(resent).toEqual(ranges.map(([s]) => s));
  });

  it('resends everything after segments_lost (0x10), and backs off on 0x97', async () => {
    const client = new FakeClient();
    let fins = 0;
    let inits = 0;
    client.answer = (p) => {
      if (p.command.kind === 'init' && ++inits <= 2)
        return { reason_code: 0x97, reason_description: 'busy' };
      if (p.command.kind === 'fin' && ++fins === 1)
        return { reason_code: 0x10, reason_description: 'segments_lost' };
      return undefined;
    };
    await upload(client.asMqtt, data, fast).done;
    expect(inits).toBe(3);
    expect(client.segmentBytes()).toBe(2 * data.length);
  });

  it('0x97 does not use up maxAttempts; a cluster that stays busy fails as busy', async () => {
    const client = new FakeClient();
    let inits = 0;
    client.answer = (p) =>
      p.command.kind === 'init' && ++inits <= 6
        ? { reason_code: 0x97, reason_description: 'busy' }
        : undefined;
    // 6 busy answers, more than maxAttempts (4): the upload still completes.
    await upload(client.asMqtt, data, fast).done;
    expect(inits).toBe(7);

    const busy = new FakeClient();
    busy.answer = (p) =>
      p.command.kind === 'init' ? { reason_code: 0x97, reason_description: 'busy' } : undefined;
    const started = Date.now();
    const error = await upload(busy.asMqtt, data, {
      ...fast,
      retry: { ...fast.retry, busyTimeoutMs: 150 },
    }).done.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UploadError);
    expect(error).toMatchObject({ kind: 'busy', reasonCode: 0x97, reasonDescription: 'busy' });
    expect((error as Error).message).toMatch(/stayed busy.*init was answered 0x97 busy/);
    expect(Date.now() - started).toBeLessThan(150 + 1000);
    expect(busy.sent('init').length).toBeGreaterThan(4);
    expect(busy.sent('segment')).toHaveLength(0);
  });

  it('fails with the reason on 0x83 and gives up when nothing answers', async () => {
    const refusing = new FakeClient();
    refusing.answer = (p) =>
      p.command.kind === 'segment'
        ? { reason_code: 0x83, reason_description: 'aborted' }
        : undefined;
    const refused = await upload(refusing.asMqtt, data, fast).done.catch((e: unknown) => e);
    expect(refused).toMatchObject({
      kind: 'rejected',
      reasonCode: 0x83,
      reasonDescription: 'aborted',
    });

    const silent = new FakeClient();
    silent.answer = () => 'drop';
    const gaveUp = await upload(silent.asMqtt, data, fast).done.catch((e: unknown) => e);
    expect(gaveUp).toBeInstanceOf(UploadError);
    // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- vitest types its asymmetric matchers any
    expect(gaveUp).toMatchObject({ kind: 'gave_up', topic: expect.stringMatching(/init$/) });
    expect(silent.published).toHaveLength(4);
  });

  it("stops at once on a 0x83 the cluster sends after a segment's success (too_many_segments, aborted)", async () => {
    for (const reason of ['too_many_segments', 'aborted']) {
      const client = new FakeClient();
      client.answer = (p) => {
        if (offsetOf(p) === 10)
          client.tellLater({ topic: p.topic, reason_code: 0x83, reason_description: reason });
        // The rest stays unanswered: only the unsolicited result can end this upload early.
        return offsetOf(p) > 10 ? 'drop' : undefined;
      };
      const options = { ...fast, window: 1, resultTimeoutMs: 5_000 };
      const ended = await upload(client.asMqtt, data, options).done.catch((e: unknown) => e);
      expect(ended).toMatchObject({
        kind: 'rejected',
        reasonCode: 0x83,
        reasonDescription: reason,
      });
      expect(client.sent('fin')).toHaveLength(0);
    }
  });

  it('ignores an unsolicited 0x83 about another transfer', async () => {
    const client = new FakeClient();
    client.answer = (p) => {
      if (offsetOf(p) === 10) {
        const other = p.topic.replace('$file/f/', '$file/other/');
        client.tellLater({ topic: other, reason_code: 0x83, reason_description: 'aborted' });
      }
      return undefined;
    };
    const result = await upload(client.asMqtt, data, {
      ...fast,
      fileId: 'f',
      resultTimeoutMs: 5_000,
    }).done;
    expect(result.size).toBe(41);
  });

  it('a declared checksum the source does not have fails as checksum_mismatch', async () => {
    const client = new FakeClient();
    client.answer = (p) =>
      p.command.kind === 'fin'
        ? { reason_code: 0x80, reason_description: 'checksum_mismatch' }
        : undefined;
    const error = await upload(client.asMqtt, data, {
      ...fast,
      checksum: 'ab'.repeat(32),
    }).done.catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'checksum_mismatch' });
    expect(client.sent('fin')).toHaveLength(1);
  });

  it('MQTT 3.1.1, scoped: no properties, results matched by topic', async () => {
    const client = new FakeClient(4, 'scoped');
    await upload(client.asMqtt, data, { ...fast, layout: 'scoped', fileId: 'x' }).done;
    expect(client.published[0]?.topic).toBe('$file/fake-dev/x/init');
  });

  it('resumes from the record: only unconfirmed bytes go again', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mqft-flow-'));
    try {
      const bytes = randomBytes(1000);
      const path = join(dir, 'src.bin');
      const resumeFile = join(dir, 'src.resume');
      await writeFile(path, bytes);
      const first = new FakeClient();
      first.answer = (p) => (offsetOf(p) >= 500 ? 'drop' : undefined);
      const options = { ...fast, segmentSize: 100, resumeFile };
      const failed = await upload(first.asMqtt, path, options).done.catch((e: unknown) => e);
      expect(failed).toMatchObject({ kind: 'gave_up' });
      const record = JSON.parse(await readFile(resumeFile, 'utf8')) as ResumeRecord;
      expect(record.confirmed).toEqual([[0, 500]]);

      const second = new FakeClient();
      const done = await upload(second.asMqtt, path, { ...options, segmentSize: 7 }).done;
      expect(done.fileId).toBe(record.fileId);
      expect(done.stats.resumedBytes).toBe(500);
      expect(second.segmentBytes()).toBe(500);
      expect(
        second
          .sent('segment')
          .map(offsetOf)
          .sort((a, b) => a - b),
      ).toEqual([500, 600, 700, 800, 900]);
      expect(second.published[0]?.payload.toString()).toBe(first.published[0]?.payload.toString());
      await expect(readFile(resumeFile)).rejects.toThrow();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
