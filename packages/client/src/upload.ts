import { EventEmitter, setMaxListeners } from 'node:events';
import type { MqttClient } from 'mqtt';
import { UploadError } from './errors.js';
import type { UploadOptions } from './options.js';
import { PauseGate, type UploadProgress } from './progress.js';
import type { UploadInput } from './source.js';
import type { UploadResult } from './result.js';
import { TransferRun } from './transfer-run.js';

export interface UploadEvents {
  /** The transfer is prepared: its fileId (from the resume record when resuming). */
  start: [info: { fileId: string; size: number; resumedBytes: number }];
  /** After every confirmed segment (and once at the start). */
  progress: [progress: UploadProgress];
  paused: [];
  resumed: [];
}

/** A running upload: wait for `done`, watch `progress`, `pause()` and `resume()` it. */
export class Upload extends EventEmitter<UploadEvents> {
  /** The stored file, or an UploadError (named AbortError when the caller aborted). */
  readonly done: Promise<UploadResult>;
  private readonly gate = new PauseGate();
  private readonly stop = new AbortController();
  private readonly run: TransferRun;

  constructor(client: MqttClient, input: UploadInput, options: UploadOptions = {}) {
    super();
    // Every command in flight and every waiting worker listens to this signal.
    setMaxListeners(0, this.stop.signal);
    this.run = new TransferRun(client, input, options, {
      gate: this.gate,
      stop: this.stop,
      onStart: (info) => this.emit('start', info),
      onProgress: (progress) => this.emit('progress', progress),
    });
    this.done = this.execute(options.signal);
    // Callers that only listen to events must not crash the process with an unhandled rejection.
    this.done.catch(() => undefined);
  }

  /** The file id (a resumed upload takes the recorded one once `start` was emitted). */
  get fileId(): string {
    return this.run.fileId;
  }

  get progress(): UploadProgress {
    return this.run.progress;
  }

  get paused(): boolean {
    return this.gate.paused;
  }

  /** Sends no new segments until resume(); segments already sent are still answered. */
  pause(): void {
    if (this.gate.paused) return;
    this.gate.pause();
    this.emit('paused');
  }

  resume(): void {
    if (!this.gate.paused) return;
    this.gate.resume();
    this.emit('resumed');
  }

  private async execute(signal: AbortSignal | undefined): Promise<UploadResult> {
    const onAbort = () => {
      const error = new UploadError('aborted', 'the upload was aborted', { cause: signal?.reason });
      if (!this.stop.signal.aborted) this.stop.abort(error);
    };
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await this.run.run();
    } catch (err) {
      if (signal?.aborted) {
        await this.run.cancel();
        throw this.stop.signal.reason;
      }
      if (err instanceof UploadError && err.kind === 'rejected') await this.run.forget();
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }
}

/**
 * Uploads `input` (a file path, bytes, or `{ stream, size }`) over `client`, the MQTT.js
 * connection the application already has. Throws at once for invalid options; everything
 * else is reported through the returned handle's `done`.
 */
export function upload(
  client: MqttClient,
  input: UploadInput,
  options: UploadOptions = {},
): Upload {
  return new Upload(client, input, options);
}
