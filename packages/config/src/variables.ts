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
