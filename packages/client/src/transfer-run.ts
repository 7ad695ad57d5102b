import type { MqttClient } from 'mqtt';
import {
  MAX_MISSING_RANGES,
  parseTopic,
  ReasonCode,
  sha256Hex,
  type Command,
  type ResultMessage,
} from '@mqft/protocol';
import { CommandSender } from './commands.js';
import { watchOffline } from './connection-watch.js';
import { UploadError, rejected } from './errors.js';
import {
  initMeta,
  randomFileId,
  resolveOptions,
  type ResolvedOptions,
  type UploadOptions,
} from './options.js';
import { ProgressMeter, type PauseGate, type UploadProgress } from './progress.js';
import { RangeSet, chunksOf, type Chunk, type Range } from './ranges.js';
import { ResumeRecorder, loadMatchingRecord, type ResumeRecord } from './resume-record.js';
import { openSource, type UploadInput, type UploadSource } from './source.js';
import type { UploadResult } from './result.js';
import { TokenBucket } from './token-bucket.js';

export interface RunHooks {
  gate: PauseGate;
  /** Fires when the upload must stop (the caller's abort, or a failure). */
  stop: AbortController;
  onStart(info: { fileId: string; size: number; resumedBytes: number }): void;
  onProgress(progress: UploadProgress): void;
}

const EMPTY = Buffer.alloc(0);
/** The slowest assembly a fin's timeout allows for: 10 MiB/s (1 s more per 10 MiB). */
const FIN_BYTES_PER_MS = (10 * 1024 * 1024) / 1000;

/** One upload from start to end: prepare, init, segments, fin with its retransmission rounds. */
export class TransferRun {
  readonly options: ResolvedOptions;
  fileId: string;
  private confirmed = new RangeSet();
  private meta: Record<string, unknown> = {};
  private segmentSize: number;
  private resumedBytes = 0;
  private declaredChecksum: string | undefined;
  private finChecksum = '';
  private source: UploadSource | undefined;
  private sender: CommandSender | undefined;
  private recorder: ResumeRecorder | undefined;
  private meter = new ProgressMeter(0);
  private readonly bucket: TokenBucket | undefined;
  initSent = false;

  constructor(
    private readonly client: MqttClient,
    private readonly input: UploadInput,
    private readonly raw: UploadOptions,
    private readonly hooks: RunHooks,
  ) {
    this.options = resolveOptions(raw, client.options.clientId ?? '');
    this.fileId = this.options.fileId ?? randomFileId();
    this.segmentSize = this.options.segmentSize;
    if (this.options.bandwidth !== undefined) {
      const { bandwidth, segmentSize } = this.options;
      this.bucket = new TokenBucket(bandwidth, Math.max(segmentSize, bandwidth / 10));
    }
  }

  get signal(): AbortSignal {
    return this.hooks.stop.signal;
  }

  get progress(): UploadProgress {
    return this.meter.snapshot(this.confirmed.size);
  }

  async run(): Promise<UploadResult> {
    if (this.options.layout === 'emqx' && this.client.options.protocolVersion !== 5) {
      const message =
        'the emqx layout names the device by MQTT 5 properties; on MQTT 3.1.1 use the scoped layout';
      throw new UploadError('unsupported', message);
    }
    const source = await openSource(this.input);
    this.source = source;
    const sender = new CommandSender({ ...this.options, client: this.client, signal: this.signal });
    this.sender = sender;
    const unwatch = watchOffline(this.client, this.options.offlineTimeoutMs, (ms) => {
      const error = new UploadError('connection', `the MQTT connection was down for ${ms} ms`);
      if (!this.signal.aborted) this.hooks.stop.abort(error);
    });
    // The cluster may end the transfer while segments still go out (ingest answered them
    // `success` when durable): a segment past the transfer's cap is answered 0x83
    // too_many_segments afterwards, and a transfer an operator aborted answers its next
    // segment `aborted`. Stop at once rather than send the rest of the file for nothing.
    const unlisten = sender.onUnclaimed((result) => {
      if (result.reason_code !== ReasonCode.Cancel || !this.concerns(result.topic)) return;
      if (!this.signal.aborted) this.hooks.stop.abort(rejected(result));
    });
    try {
      await this.prepare(source);
      await sender.start();
      this.initSent = true;
      await this.sendInit();
      await this.sendChunks(chunksOf(this.confirmed.gaps(source.size), this.segmentSize));
      const fin = await this.finish(source);
      await this.recorder?.remove();
      return this.result(fin.location ?? '', source);
    } finally {
      unwatch();
      unlisten();
      sender.close();
      await this.recorder?.flush();
      await source.close();
    }
  }

  /** Whether a command topic is one of this transfer's. */
  private concerns(topic: string): boolean {
    const parsed = parseTopic(topic, { layout: this.options.layout });
    if (!parsed.ok || parsed.command.fileId !== this.fileId) return false;
    return this.options.layout === 'emqx' || parsed.command.clientId === this.options.clientId;
  }

  /** Sends `abort` once (best effort) and deletes the resume record. */
  async cancel(): Promise<void> {
    await this.recorder?.remove();
    if (!this.initSent) return;
    const sender = new CommandSender({
      ...this.options,
      client: this.client,
      signal: new AbortController().signal,
      retry: { ...this.options.retry, maxAttempts: 1 },
    });
    try {
      await sender.send(this.command('abort'), EMPTY, false);
    } catch {
      // The transfer expires on its own if the abort got lost.
    } finally {
      sender.close();
    }
  }

  /** Forgets the resume record after a refusal: the transfer cannot go on. */
  async forget(): Promise<void> {
    await this.recorder?.remove();
  }

  private async prepare(source: UploadSource): Promise<void> {
    const o = this.options;
    this.declaredChecksum = o.checksum ?? (source.rewindable ? await source.checksum() : undefined);
    if (o.resumeFile !== undefined && !source.rewindable) {
      throw new UploadError('unsupported', 'resumeFile needs a file path or bytes, not a stream');
    }
    const record =
      o.resumeFile === undefined
        ? undefined
        : await loadMatchingRecord(o.resumeFile, {
            size: source.size,
            checksum: this.declaredChecksum,
            clientId: o.clientId,
            fileId: o.fileId,
          });
    if (record) {
      this.fileId = record.fileId;
      this.segmentSize = record.segmentSize;
      this.meta = record.meta;
      this.confirmed = new RangeSet(record.confirmed);
      this.resumedBytes = this.confirmed.size;
    } else {
      const name = o.name ?? source.name ?? this.fileId;
      const fields = { name, size: source.size, checksum: this.declaredChecksum };
      this.meta = initMeta(this.raw, fields);
    }
    if (o.resumeFile !== undefined) {
      this.recorder = new ResumeRecorder(o.resumeFile, () => this.record(source));
      this.recorder.update();
    }
    this.meter = new ProgressMeter(source.size);
    this.hooks.onStart({ fileId: this.fileId, size: source.size, resumedBytes: this.resumedBytes });
    this.hooks.onProgress(this.meter.update(this.confirmed.size));
  }

  private record(source: UploadSource): ResumeRecord {
    return {
      version: 1,
      clientId: this.options.clientId,
      fileId: this.fileId,
      size: source.size,
      checksum: this.declaredChecksum ?? '',
      segmentSize: this.segmentSize,
      meta: this.meta,
      confirmed: this.confirmed.toJSON(),
    };
  }

  private command(kind: 'init' | 'abort'): Command {
    const { root, clientId } = this.options;
    return { kind, root, clientId, fileId: this.fileId };
  }

  /** Sends chunks with at most `window` unanswered, honouring pause and the bandwidth cap. */
  private async sendChunks(chunks: Chunk[]): Promise<void> {
    const queue = [...chunks];
    const { gate } = this.hooks;
    const worker = async () => {
      for (;;) {
        await gate.wait(this.signal);
        const chunk = queue.shift();
        if (chunk === undefined) return;
        await this.bucket?.take(chunk.length, this.signal);
        // Paused while it waited for bandwidth: this segment is not sent yet either.
        await gate.wait(this.signal);
        await this.sendSegment(chunk);
      }
    };
    const workers = Math.min(this.options.window, queue.length);
    try {
      await Promise.all(Array.from({ length: workers }, worker));
    } catch (err) {
      if (!this.signal.aborted) this.hooks.stop.abort(err); // stops the other workers
      throw err;
    }
  }

  private async sendSegment(chunk: Chunk): Promise<void> {
    const source = this.source as UploadSource;
    const data = await source.read(chunk.offset, chunk.length);
    const { root, clientId, segmentChecksums } = this.options;
    const command: Command = {
      kind: 'segment',
      root,
      clientId,
      fileId: this.fileId,
      offset: chunk.offset,
    };
    if (segmentChecksums) command.checksum = sha256Hex(data);
    const result = await (this.sender as CommandSender).send(command, data, true);
    // 0x10 here means earlier segments are gone too: the fin reports what to send again.
    if (result.reason_code !== ReasonCode.Success) return;
    this.confirmed.add(chunk.offset, chunk.offset + chunk.length);
    source.release(chunk.offset, chunk.length);
    this.recorder?.update();
    this.hooks.onProgress(this.meter.update(this.confirmed.size));
  }

  private async sendInit(): Promise<void> {
    const sender = this.sender as CommandSender;
    await sender.send(this.command('init'), Buffer.from(JSON.stringify(this.meta)), true);
  }

  /** fin, and the retransmissions its failures ask for, until it succeeds. */
  private async finish(source: UploadSource): Promise<ResultMessage> {
    const sender = this.sender as CommandSender;
    const checksum = this.declaredChecksum ?? (await source.checksum());
    this.finChecksum = checksum;
    const { root, clientId, retry } = this.options;
    const fin: Command = {
      kind: 'fin',
      root,
      clientId,
      fileId: this.fileId,
      size: source.size,
      checksum,
    };
    // fin is answered after assembly, which takes time in proportion to the file.
    const finTimeoutMs = this.options.resultTimeoutMs + source.size / FIN_BYTES_PER_MS;
    // A result that lists only the first missing ranges (`missing_more`) is answered with
    // those ranges and fin again, and then lists the next ones: such rounds make progress and
    // are not counted against retry.maxAttempts (at most one per MAX_MISSING_RANGES ranges).
    const progressRounds = Math.ceil(source.size / MAX_MISSING_RANGES);
    for (let round = 1, counted = 0; ; round++) {
      const result = await sender.send(fin, EMPTY, false, finTimeoutMs);
      if (result.reason_code === ReasonCode.Success) return result;
      const more = result.missing_more === true && round <= retry.maxAttempts + progressRounds;
      if (!more) counted++;
      if (counted >= retry.maxAttempts) {
        const message = `gave up after ${round} fins (last: ${result.reason_description})`;
        throw new UploadError('gave_up', message, { result });
      }
      if (result.reason_description === 'checksum_mismatch')
        await this.verifySource(source, checksum);
      // The cluster may have lost its record of the init too (a Redis failover); sending it
      // again is a no-op when it is there.
      if (result.reason_description === 'incomplete') await this.sendInit();
      await this.sendChunks(chunksOf(this.resendRanges(result, source.size), this.segmentSize));
    }
  }

  /** What a failed fin asks for: the missing ranges, else everything (and forget the rest). */
  private resendRanges(result: ResultMessage, size: number): Range[] {
    if (result.reason_code === ReasonCode.Retransmit && result.missing?.length) {
      return result.missing;
    }
    this.confirmed = new RangeSet();
    this.recorder?.update();
    return [[0, size]];
  }

  /** After a whole-file checksum mismatch: resending only helps if the source is right. */
  private async verifySource(source: UploadSource, declared: string): Promise<void> {
    if (!source.rewindable) return;
    const actual = await source.checksum();
    if (actual === declared) return;
    if (this.options.checksum !== undefined) {
      const message = `the source's SHA-256 is ${actual}, not the declared ${declared}`;
      throw new UploadError('checksum_mismatch', message);
    }
    throw new UploadError('source', 'the source changed while it was uploaded');
  }

  private result(location: string, source: UploadSource): UploadResult {
    const sender = this.sender as CommandSender;
    return {
      location,
      clientId: this.options.clientId,
      fileId: this.fileId,
      size: source.size,
      checksum: this.finChecksum,
      stats: {
        commandsPublished: sender.published,
        bytesPublished: sender.bytesPublished,
        resumedBytes: this.resumedBytes,
      },
    };
  }
}
