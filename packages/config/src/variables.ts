import { hostname } from 'node:os';
import { vars } from './env.js';

/**
 * Every MQFT_* variable, once. Services pick the ones they read; docs and the Kubernetes
 * manifests are checked against this catalogue, because outside tooling drives the system
 * through these names.
 */
export const MQFT_VARIABLES = {
  mqttUrl: vars.url(
    'MQFT_MQTT_URL',
    'mqtt://127.0.0.1:1883',
    'broker URL (ingest subscribes, assembler publishes results)',
    ['mqtt:', 'mqtts:', 'ws:', 'wss:'],
  ),
  mqttSubscription: vars.list(
    'MQFT_MQTT_SUBSCRIPTION',
    '$share/ft/$file/#,$share/ft/$file-async/#',
    "ingest's topic filters, comma-separated",
  ),
  mqttTopicPrefix: vars.string(
    'MQFT_MQTT_TOPIC_PREFIX',
    '',
    "prefix stripped before parsing (the loopback bridge's remote prefix, e.g. mqft/in/)",
  ),
  mqttClientId: vars.string(
    'MQFT_MQTT_CLIENT_ID',
    `mqft-${hostname()}`,
    'base of the stable MQTT clientIds of this process (a connection index is appended)',
  ),
  mqttUsername: vars.string('MQFT_MQTT_USERNAME', '', 'MQTT username (empty: none)'),
  mqttPassword: vars.string('MQFT_MQTT_PASSWORD', '', 'MQTT password (empty: none)'),
  mqttCa: vars.string(
    'MQFT_MQTT_CA',
    '',
    "PEM file of the CA(s) that signed the broker's certificate, for mqtts:// and wss:// (empty: the system's roots); the broker is always verified",
  ),
  mqttCert: vars.string(
    'MQFT_MQTT_CERT',
    '',
    'PEM client certificate (chain) file presented to the broker (empty: none); needs MQFT_MQTT_KEY',
  ),
  mqttKey: vars.string('MQFT_MQTT_KEY', '', 'PEM private key file of MQFT_MQTT_CERT (empty: none)'),
  ingestConnections: vars.integer(
    'MQFT_INGEST_CONNECTIONS',
    '4',
    'MQTT connections per ingest process (shared-subscription members)',
    1,
    256,
  ),
  ingestUnsubscribeOnStop: vars.boolean(
    'MQFT_INGEST_UNSUBSCRIBE_ON_STOP',
    'false',
    "leave the shared subscription on stop: true while scaling ingest down (Mosquitto goes on assigning new commands to a removed replica's offline session); false (default) keeps it, so a restarting replica, even the only one, finds what was queued for it meanwhile",
  ),
  layout: vars.oneOf('MQFT_LAYOUT', 'emqx', 'topic layout: emqx or scoped', [
    'emqx',
    'scoped',
  ] as const),
  trustClientIdProperty: vars.boolean(
    'MQFT_TRUST_CLIENTID_PROPERTY',
    'false',
    "emqx layout only: true says the broker sets or checks each command's clientid user property (an EMQX rule, a HiveMQ interceptor), or that you accept that a device may act under any clientId (local demos, tests); ingest refuses MQFT_LAYOUT=emqx without it. Mosquitto cannot vouch for the property: use MQFT_LAYOUT=scoped with its ACL",
  ),
  natsUrl: vars.url('MQFT_NATS_URL', 'nats://127.0.0.1:4222', 'NATS servers, comma-separated', [
    'nats:',
    'tls:',
  ]),
  stream: vars.string('MQFT_STREAM', 'MQFT', 'JetStream stream name'),
  streamReplicas: vars.integer('MQFT_STREAM_REPLICAS', '1', "the stream's replicas", 1, 5),
  redisUrl: vars.url(
    'MQFT_REDIS_URL',
    'redis://127.0.0.1:6379',
    'Redis, or Redis Cluster as redis+cluster://host:port,host:port',
    ['redis:', 'rediss:', 'redis+cluster:'],
  ),
  redisPrefix: vars.string('MQFT_REDIS_PREFIX', 'mqft:', 'Redis key prefix'),
  storage: vars.string(
    'MQFT_STORAGE',
    'file://./data/files',
    'file:///abs/dir or s3://bucket/prefix?endpoint=…&region=…',
  ),
  grpcAddr: vars.hostPort('MQFT_GRPC_ADDR', '127.0.0.1:50051', 'control service listen address'),
  grpcTlsCert: vars.string(
    'MQFT_GRPC_TLS_CERT',
    '',
    'PEM certificate chain file of the gRPC server; with MQFT_GRPC_TLS_KEY it serves TLS',
  ),
  grpcTlsKey: vars.string('MQFT_GRPC_TLS_KEY', '', 'PEM private key file of the gRPC server'),
  grpcAllowInsecureRemote: vars.boolean(
    'MQFT_GRPC_ALLOW_INSECURE_REMOTE',
    'false',
    'let the gRPC and HTTP APIs listen on a non-loopback address without MQFT_API_TOKENS (only behind something else that authenticates)',
  ),
  httpApiAddr: vars.hostPort(
    'MQFT_HTTP_API_ADDR',
    '127.0.0.1:8080',
    "control's HTTP API (EMQX-compatible /api/v5, /api/v1, the console) listen address",
  ),
  consoleDir: vars.string(
    'MQFT_CONSOLE_DIR',
    'dist/console',
    "directory of the console's built assets (`pnpm build` puts them in dist/console), served at /console/; relative to the working directory",
  ),
  downloadUrlTtl: vars.duration(
    'MQFT_DOWNLOAD_URL_TTL',
    '15m',
    'default validity of GetDownloadUrl URLs',
    1000,
  ),
  abortWait: vars.duration(
    'MQFT_ABORT_WAIT',
    '10s',
    'how long AbortTransfer waits for the assembler to carry the abort out',
  ),
  apiTokens: vars.list(
    'MQFT_API_TOKENS',
    '',
    'accepted tokens of the gRPC and HTTP APIs (Bearer, or HTTP Basic); empty = no auth, loopback only',
  ),
  finGrace: vars.duration(
    'MQFT_FIN_GRACE',
    '30s',
    'how long a fin waits for missing segments before failing with the missing ranges',
  ),
  segmentsTtl: vars.duration(
    'MQFT_SEGMENTS_TTL',
    '24h',
    "segments' time to live when init gives none",
    1000,
  ),
  streamMaxBytes: vars.bytes(
    'MQFT_STREAM_MAX_BYTES',
    '4GiB',
    "the stream's byte limit (discard new: a full stream refuses, it never drops what it holds). NATS reserves it in JetStream storage (max_file_store) at creation: keep it within the volume. Files larger than MQFT_STREAM_FULL_PERCENT of it are refused (file_too_large)",
    1024 * 1024,
  ),
  streamFullPercent: vars.integer(
    'MQFT_STREAM_FULL_PERCENT',
    '95',
    'ingest answers every command 0x97 busy while the stream holds more than this percentage of MQFT_STREAM_MAX_BYTES (checked every second)',
    1,
    100,
  ),
  busyStreamPercent: vars.integer(
    'MQFT_BUSY_STREAM_PERCENT',
    '70',
    'assemblers answer inits of new transfers 0x97 busy while the stream holds more than this percentage of MQFT_STREAM_MAX_BYTES',
    1,
    100,
  ),
  busyBacklog: vars.integer(
    'MQFT_BUSY_BACKLOG',
    '100000',
    'assemblers answer inits of new transfers 0x97 busy while more stream messages than this wait to be recorded (0: never)',
    0,
  ),
  busyDueAge: vars.duration(
    'MQFT_BUSY_DUE_AGE',
    '30s',
    'assemblers answer inits of new transfers 0x97 busy while a due assembly has waited longer than this for a free assembler (0: never)',
  ),
  busyStorageErrors: vars.integer(
    'MQFT_BUSY_STORAGE_ERRORS',
    '5',
    'an assembler answers inits of new transfers 0x97 busy after this many failed assembly attempts (storage or NATS errors) in 10 s (0: never)',
    0,
  ),
  maxFileSize: vars.bytes('MQFT_MAX_FILE_SIZE', '64GiB', 'largest file accepted', 1),
  maxSegmentSize: vars.bytes(
    'MQFT_MAX_SEGMENT_SIZE',
    '16MiB',
    'largest segment payload accepted',
    1,
  ),
  maxFilemetaBytes: vars.bytes(
    'MQFT_MAX_FILEMETA_BYTES',
    '16KiB',
    'largest init payload (filemeta JSON) accepted; larger ones are answered 0x83 invalid_filemeta_json (at most 64KiB)',
    1024,
    64 * 1024,
  ),
  maxFilemetaDepth: vars.integer(
    'MQFT_MAX_FILEMETA_DEPTH',
    '16',
    'deepest nesting of an init payload (the object itself is level 1), unknown fields included; deeper ones are answered 0x83 invalid_filemeta (at most 32: what a protobuf client of the API decodes)',
    2,
    32,
  ),
  maxActiveTransfers: vars.integer(
    'MQFT_MAX_ACTIVE_TRANSFERS',
    '16',
    'active transfers per client: every transfer a command of any kind touches counts',
    1,
  ),
  orphanTtl: vars.duration(
    'MQFT_ORPHAN_TTL',
    '60s',
    'how long the state of a transfer lives, and holds its quota slot, while its init has not arrived (a segment, fin or abort came first)',
    1000,
  ),
  maxListedTransfers: vars.integer(
    'MQFT_MAX_LISTED_TRANSFERS',
    '1000000',
    'entries of the index ListTransfers reads for all clients; the oldest beyond are dropped from it',
    1,
  ),
  maxListedPerClient: vars.integer(
    'MQFT_MAX_LISTED_PER_CLIENT',
    '10000',
    "entries of one client's index for ListTransfers; the oldest beyond are dropped from it",
    1,
  ),
  maxSegmentsPerTransfer: vars.integer(
    'MQFT_MAX_SEGMENTS_PER_TRANSFER',
    '262144',
    'stored segments one transfer may have (a 16 GiB file in 64 KiB segments); the segment at a new offset past it fails the transfer, answered 0x83 too_many_segments',
    1,
  ),
  assemblyConcurrency: vars.integer(
    'MQFT_ASSEMBLY_CONCURRENCY',
    '2',
    'files larger than one storage part one assembler assembles at once (smaller files share a budget of this many parts, at most 64 at once)',
    1,
    64,
  ),
  recordConcurrency: vars.integer(
    'MQFT_RECORD_CONCURRENCY',
    '64',
    'commands one assembler records in Redis at once',
    1,
    4096,
  ),
  assemblyMaxAttempts: vars.integer(
    'MQFT_ASSEMBLY_MAX_ATTEMPTS',
    '10',
    'failed assembly attempts (storage or NATS unavailable) after which a transfer ends failed (0x83 assembly_failed); with the back-off below, 10 rides out about 13 minutes of storage outage',
    1,
    1000,
  ),
  assemblyRetryDelay: vars.duration(
    'MQFT_ASSEMBLY_RETRY_DELAY',
    '2s',
    'back-off after the first failed assembly attempt; it doubles with each further one',
    10,
  ),
  assemblyRetryMaxDelay: vars.duration(
    'MQFT_ASSEMBLY_RETRY_MAX_DELAY',
    '5m',
    'longest back-off between two assembly attempts',
    10,
  ),
  assemblyMaxDeaths: vars.integer(
    'MQFT_ASSEMBLY_MAX_DEATHS',
    '2',
    "assemblers that may lose a transfer's lease while assembling it (died, e.g. crashed by it) before the next one ends it failed instead of trying (poison detection)",
    1,
    100,
  ),
  progressiveMinBytes: vars.bytes(
    'MQFT_PROGRESSIVE_MIN_BYTES',
    '8MiB',
    'recorded bytes from which a transfer still receiving is assembled progressively (its contiguous prefix streamed into storage before fin, so fin only closes the file); 0 disables progressive assembly',
  ),
  progressiveConcurrency: vars.integer(
    'MQFT_PROGRESSIVE_CONCURRENCY',
    '2',
    'transfers one assembler assembles progressively at once, besides MQFT_ASSEMBLY_CONCURRENCY (0 disables progressive assembly)',
    0,
    64,
  ),
  progressiveIdle: vars.duration(
    'MQFT_PROGRESSIVE_IDLE',
    '30s',
    'a progressive assembly whose contiguous prefix did not grow for this long gives its upload and lease up (the fin assembles it then)',
    1000,
  ),
  leaseTtl: vars.duration(
    'MQFT_LEASE_TTL',
    '30s',
    'assembly lease time to live (renewed while the holder lives)',
    1000,
  ),
  storagePartSize: vars.bytes(
    'MQFT_STORAGE_PART_SIZE',
    '8MiB',
    'S3 multipart part size',
    5 * 2 ** 20,
  ),
  shutdownGrace: vars.duration(
    'MQFT_SHUTDOWN_GRACE',
    '25s',
    'how long SIGTERM waits for in-flight work',
  ),
  outcomesStream: vars.string(
    'MQFT_OUTCOMES_STREAM',
    '',
    'JetStream stream of transfer outcomes, for backends (docs/events.md; empty: <MQFT_STREAM>_OUTCOMES)',
  ),
  outcomesMaxAge: vars.duration(
    'MQFT_OUTCOMES_MAX_AGE',
    '7d',
    "how long outcomes stay in the outcome stream: a backend's consumer that is away longer misses the older ones",
    60_000,
  ),
  outcomesMaxBytes: vars.bytes(
    'MQFT_OUTCOMES_MAX_BYTES',
    '1GiB',
    "the outcome stream's size limit (the oldest outcomes go first)",
    2 ** 20,
  ),
  webhookUrl: vars.string(
    'MQFT_WEBHOOK_URL',
    '',
    'http(s) URL control POSTs every transfer outcome to (empty: no webhook; docs/events.md)',
  ),
  webhookSecret: vars.string(
    'MQFT_WEBHOOK_SECRET',
    '',
    'key of the HMAC-SHA256 signature in X-Mqft-Signature; required with MQFT_WEBHOOK_URL',
  ),
  webhookMaxAttempts: vars.integer(
    'MQFT_WEBHOOK_MAX_ATTEMPTS',
    '12',
    'deliveries of one outcome tried before it goes to the dead letters',
    1,
    1000,
  ),
  webhookTimeout: vars.duration(
    'MQFT_WEBHOOK_TIMEOUT',
    '10s',
    'how long one webhook request may take (a timeout is a failed attempt)',
    100,
  ),
  webhookBackoff: vars.duration(
    'MQFT_WEBHOOK_BACKOFF',
    '1s',
    'delay before the first webhook retry; doubled for each further one, with jitter',
    10,
  ),
  webhookBackoffMax: vars.duration(
    'MQFT_WEBHOOK_BACKOFF_MAX',
    '5m',
    'longest delay between two webhook attempts',
    10,
  ),
  webhookConcurrency: vars.integer(
    'MQFT_WEBHOOK_CONCURRENCY',
    '8',
    'webhook requests one control replica has in flight at once',
    1,
    256,
  ),
  retentionEnabled: vars.boolean(
    'MQFT_RETENTION_ENABLED',
    'false',
    "delete stored files (and their records) when they expire: the init's expire_at, else MQFT_RETENTION_DEFAULT, at most MQFT_RETENTION_MAX",
  ),
  retentionDefault: vars.duration(
    'MQFT_RETENTION_DEFAULT',
    '0',
    'with retention: how long a file without expire_at is kept after it was stored (0: for ever)',
  ),
  retentionMax: vars.duration(
    'MQFT_RETENTION_MAX',
    '0',
    'with retention: the longest any file is kept after it was stored; a later expire_at is brought forward (0: no limit)',
  ),
  logLevel: vars.oneOf('MQFT_LOG_LEVEL', 'info', 'pino log level', [
    'fatal',
    'error',
    'warn',
    'info',
    'debug',
    'trace',
    'silent',
  ] as const),
  localMqttPort: vars.integer(
    'MQFT_LOCAL_MQTT_PORT',
    '1883',
    "port of the local stack's own Mosquitto (pnpm start)",
    1,
    65535,
  ),
} as const;

/** The /metrics, /healthz, /readyz address; each service has its own default port. */
export function httpAddrVariable(defaultAddr: string) {
  return vars.hostPort('MQFT_HTTP_ADDR', defaultAddr, '/metrics, /healthz, /readyz listen address');
}
