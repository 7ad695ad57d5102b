import { randomUUID } from 'node:crypto';
import { isSha256Hex, type CommandRoot, type Layout } from '@mqft/protocol';

export interface RetryOptions {
  /** Sends of one command (the first included) before giving up (default 10). */
  maxAttempts?: number;
  /** First back-off after a 0x97 or a retransmit request (default 500 ms); doubles each time. */
  backoffMs?: number;
  /** Longest back-off (default 30 s). */
  backoffCapMs?: number;
  /**
   * How long one command may keep being answered 0x97 (`busy`: the cluster sheds load;
   * `quota_exceeded`) before the upload fails with kind `busy` (default 5 minutes). Sends
   * answered 0x97 do not count against `maxAttempts`.
   */
  busyTimeoutMs?: number;
}

export interface UploadOptions {
  /** The file id (default: a random UUID). */
  fileId?: string;
  /** The stored file name (default: the file's base name, else the fileId). */
  name?: string;
  /** The deployment's layout (default `emqx`). `scoped` puts the clientId in the topic. */
  layout?: Layout;
  /** The device's identity (default: the MQTT client's clientId). */
  clientId?: string;
  /** `$file` (default) or `$file-async`: mqft handles both the same. */
  root?: CommandRoot;
  /** Bytes per segment (default 64 KiB). */
  segmentSize?: number;
  /** Segments sent but not yet answered, at most (default 16). */
  window?: number;
  /** Put each segment's SHA-256 in its topic, so the cluster verifies it (default true). */
  segmentChecksums?: boolean;
  /** The whole file's SHA-256 if already known (default: computed from the source). */
  checksum?: string;
  /** How long to wait for a command's result before sending it again (default 10 s). */
  resultTimeoutMs?: number;
  retry?: RetryOptions;
  /**
   * Fail (kind `connection`) when the MQTT connection stays down this long (default: wait
   * for MQTT.js to reconnect, however long that takes). Offline time never counts as
   * attempts: everything unanswered is sent again as soon as the connection is back.
   */
  offlineTimeoutMs?: number;
  /** Stored with the file (any JSON value, at most 4 KiB serialized). */
  userData?: unknown;
  /** Seconds the cluster keeps unassembled segments. */
  segmentsTtl?: number;
  /** When the file may be deleted: a Date or Unix seconds. */
  expireAt?: Date | number;
  /** Aborts the upload: sends `abort`, then rejects with an UploadError named AbortError. */
  signal?: AbortSignal;
  /** Bandwidth cap in bytes per second (segment payloads). */
  bandwidth?: number;
  /** Keep a resume record at this path while uploading (path or bytes sources only). */
  resumeFile?: string;
}

export interface ResolvedOptions {
  fileId: string | undefined;
  name: string | undefined;
  layout: Layout;
  clientId: string;
  root: CommandRoot;
  segmentSize: number;
  window: number;
  segmentChecksums: boolean;
  checksum: string | undefined;
  resultTimeoutMs: number;
  retry: Required<RetryOptions>;
  offlineTimeoutMs: number | undefined;
  bandwidth: number | undefined;
  resumeFile: string | undefined;
}

export const DEFAULT_SEGMENT_SIZE = 64 * 1024;
export const DEFAULT_WINDOW = 16;
export const DEFAULT_RESULT_TIMEOUT_MS = 10_000;
export const DEFAULT_RETRY: Required<RetryOptions> = {
  maxAttempts: 10,
  backoffMs: 500,
  backoffCapMs: 30_000,
  busyTimeoutMs: 5 * 60_000,
};

export function resolveOptions(options: UploadOptions, mqttClientId: string): ResolvedOptions {
  const resolved: ResolvedOptions = {
    fileId: options.fileId,
    name: options.name,
    layout: options.layout ?? 'emqx',
    clientId: options.clientId ?? mqttClientId,
    root: options.root ?? '$file',
    segmentSize: options.segmentSize ?? DEFAULT_SEGMENT_SIZE,
    window: options.window ?? DEFAULT_WINDOW,
    segmentChecksums: options.segmentChecksums ?? true,
    checksum: options.checksum?.toLowerCase(),
    resultTimeoutMs: options.resultTimeoutMs ?? DEFAULT_RESULT_TIMEOUT_MS,
    retry: { ...DEFAULT_RETRY, ...options.retry },
    offlineTimeoutMs: options.offlineTimeoutMs,
    bandwidth: options.bandwidth,
    resumeFile: options.resumeFile,
  };
  checkOptions(resolved);
  return resolved;
}

function checkOptions(o: ResolvedOptions): void {
  const positiveInt = (value: number, what: string) => {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`${what} must be a positive integer, got ${value}`);
    }
  };
  positiveInt(o.segmentSize, 'segmentSize');
  positiveInt(o.window, 'window');
  positiveInt(o.retry.maxAttempts, 'retry.maxAttempts');
  if (!(o.resultTimeoutMs > 0)) throw new RangeError('resultTimeoutMs must be positive');
  if (!(o.retry.busyTimeoutMs >= 0)) throw new RangeError('retry.busyTimeoutMs must be ≥ 0');
  if (o.bandwidth !== undefined && !(o.bandwidth > 0)) {
    throw new RangeError('bandwidth must be positive');
  }
  if (o.checksum !== undefined && !isSha256Hex(o.checksum)) {
    throw new RangeError('checksum must be 64 hex digits');
  }
  if (o.clientId === '') throw new RangeError('the upload needs a clientId');
}

/** The init payload (docs/protocol.md "Commands"), without fields the caller left out. */
export function initMeta(
  options: UploadOptions,
  fields: { name: string; size: number; checksum: string | undefined },
): Record<string, unknown> {
  const meta: Record<string, unknown> = { name: fields.name, size: fields.size };
  if (fields.checksum !== undefined) meta['checksum'] = fields.checksum;
  if (options.expireAt !== undefined) {
    const at = options.expireAt;
    meta['expire_at'] = at instanceof Date ? Math.floor(at.getTime() / 1000) : at;
  }
  if (options.segmentsTtl !== undefined) meta['segments_ttl'] = options.segmentsTtl;
  if (options.userData !== undefined) meta['user_data'] = options.userData;
  return meta;
}

export function randomFileId(): string {
  return randomUUID();
}

/**
 * Back-off before the `attempt`-th send of a command (attempt ≥ 2): doubling from `backoffMs`
 * up to `backoffCapMs`, each drawn at random between half and all of that (jitter: devices
 * told 0x97 at the same moment do not all come back at the same moment).
 */
export function backoffDelay(
  retry: Required<RetryOptions>,
  attempt: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(retry.backoffCapMs, retry.backoffMs * 2 ** Math.max(0, attempt - 2));
  return Math.round(ceiling * (0.5 + random() * 0.5));
}
