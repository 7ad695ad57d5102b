import type { UploadOptions } from '@mqft/client';
import { UsageError, oneOf, parseCommand, parseDuration, parseInteger, parseSize } from './args.js';
import type { EnvReader } from './env.js';

export const UPLOAD_USAGE = `Usage: mqft upload FILE --broker URL --client-id ID [options]

Uploads FILE as the device ID over MQTT (the mqft device protocol) and waits until the
cluster confirms it stored the file; prints where it landed.

Connection:
  --broker URL           mqtt://, mqtts://, ws:// or wss:// URL (env MQFT_MQTT_URL;
                         default mqtt://127.0.0.1:1883)
  --client-id ID         the device's MQTT clientId, which is also its identity (required)
  --mqtt-version 3|5     MQTT 3.1.1 or 5 (default 5; 3 needs --layout scoped)
  --username NAME        broker user name (env MQFT_MQTT_USERNAME)
  --password SECRET      broker password (env MQFT_MQTT_PASSWORD)
  --offline-timeout DUR  give up when the connection stays down this long (default 60s)

Transfer:
  --file-id ID           file id (default: a random UUID; taken from --resume-file when resuming)
  --name NAME            stored file name (default: FILE's base name)
  --layout emqx|scoped   the deployment's topic layout (default emqx)
  --segment-size SIZE    bytes per segment, e.g. 64k, 1M (default 64k)
  --window N             segments in flight at most (default 16)
  --bandwidth RATE       cap in bytes per second, e.g. 512k, 2M
  --checksum SHA256      the SHA-256 FILE must have (default: computed); a mismatch fails
  --user-data JSON       stored with the file
  --segments-ttl DUR     how long the cluster keeps unassembled segments, e.g. 1h
  --expire-at TIME       when the file may be deleted: ISO date or Unix seconds
  --result-timeout DUR   resend a command after this long without a result (default 10s)
  --max-attempts N       sends of one command before giving up (default 10)
  --resume-file PATH     keep a resume record here; rerun the same command to resume

Output:
  --json                 one JSON document on stdout, no progress
  --quiet                no progress
  -h, --help             this help

Durations: 500ms, 10s, 2m, 1h (a bare number is seconds). Sizes: bytes, or k, M, G (binary).

Environment variables are the services' names; the earlier MQFT_BROKER and MQFT_PASSWORD
still work, with a warning.

Exit codes: 0 stored, 2 bad arguments, 3 connection failed, 4 refused by the cluster (0x83),
5 gave up retrying, 6 interrupted (abort sent), 7 file unreadable, changed or not matching
--checksum, 1 anything else.`;

export interface UploadArgs {
  file: string;
  broker: string;
  clientId: string;
  mqttVersion: 4 | 5;
  username: string | undefined;
  password: string | undefined;
  offlineTimeoutMs: number;
  json: boolean;
  quiet: boolean;
  options: UploadOptions;
}

const OPTIONS = {
  broker: { type: 'string' },
  'client-id': { type: 'string' },
  'mqtt-version': { type: 'string', default: '5' },
  username: { type: 'string' },
  password: { type: 'string' },
  'offline-timeout': { type: 'string', default: '60s' },
  'file-id': { type: 'string' },
  name: { type: 'string' },
  layout: { type: 'string', default: 'emqx' },
  'segment-size': { type: 'string' },
  window: { type: 'string' },
  bandwidth: { type: 'string' },
  checksum: { type: 'string' },
  'user-data': { type: 'string' },
  'segments-ttl': { type: 'string' },
  'expire-at': { type: 'string' },
  'result-timeout': { type: 'string' },
  'max-attempts': { type: 'string' },
  'resume-file': { type: 'string' },
  json: { type: 'boolean', default: false },
  quiet: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** The parsed command line, or `help` when --help was asked for. */
export function parseUploadArgs(args: string[], env: EnvReader): UploadArgs | 'help' {
  const { values: v, positionals } = parseCommand(args, OPTIONS);
  if (v.help) return 'help';
  if (positionals.length !== 1) throw new UsageError('expected exactly one FILE');
  const clientId = v['client-id'];
  if (clientId === undefined || clientId === '') throw new UsageError('--client-id is required');
  const mqttVersion = oneOf(v['mqtt-version'], ['3', '5'], '--mqtt-version') === '3' ? 4 : 5;
  const layout = oneOf(v.layout, ['emqx', 'scoped'], '--layout');
  if (mqttVersion === 4 && layout === 'emqx') {
    throw new UsageError(
      'MQTT 3.1.1 cannot name the device in the emqx layout: use --layout scoped',
    );
  }
  return {
    file: positionals[0] as string,
    broker: v.broker ?? env('mqttUrl') ?? 'mqtt://127.0.0.1:1883',
    clientId,
    mqttVersion,
    username: v.username ?? env('mqttUsername'),
    password: v.password ?? env('mqttPassword'),
    offlineTimeoutMs: parseDuration(v['offline-timeout'], '--offline-timeout'),
    json: v.json,
    quiet: v.quiet,
    options: { ...transferOptions(v), layout, clientId },
  };
}

function transferOptions(
  v: Partial<Record<keyof typeof OPTIONS, string | boolean>>,
): UploadOptions {
  const text = (key: keyof typeof OPTIONS) => v[key] as string | undefined;
  const options: UploadOptions = {};
  const set = <K extends keyof UploadOptions>(key: K, value: UploadOptions[K] | undefined) => {
    if (value !== undefined) options[key] = value;
  };
  const map = <T>(key: keyof typeof OPTIONS, parse: (t: string, what: string) => T) => {
    const value = text(key);
    return value === undefined ? undefined : parse(value, `--${key}`);
  };
  set('fileId', text('file-id'));
  set('name', text('name'));
  set('segmentSize', map('segment-size', parseSize));
  set(
    'window',
    map('window', (t, w) => parseInteger(t, w)),
  );
  set('bandwidth', map('bandwidth', parseSize));
  set('checksum', map('checksum', parseChecksum));
  set('userData', map('user-data', parseJson));
  set(
    'segmentsTtl',
    map('segments-ttl', (t, w) => Math.round(parseDuration(t, w) / 1000)),
  );
  set('expireAt', map('expire-at', parseTime));
  set('resultTimeoutMs', map('result-timeout', parseDuration));
  const maxAttempts = map('max-attempts', (t, w) => parseInteger(t, w));
  if (maxAttempts !== undefined) options.retry = { maxAttempts };
  set('resumeFile', text('resume-file'));
  return options;
}

function parseChecksum(text: string, what: string): string {
  if (!/^[0-9a-f]{64}$/i.test(text)) throw new UsageError(`${what} must be 64 hex digits`);
  return text.toLowerCase();
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`${what} is not JSON: ${text}`);
  }
}

function parseTime(text: string, what: string): number {
  if (/^\d+$/.test(text)) return Number(text);
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new UsageError(`${what}: not a date or Unix seconds: ${text}`);
  return Math.floor(ms / 1000);
}
