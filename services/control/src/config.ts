import {
  httpAddrVariable,
  loadConfig,
  MQFT_VARIABLES as V,
  vars,
  type ConfigOf,
} from '@mqft/config';

export const controlConfigSchema = {
  grpcAddr: V.grpcAddr,
  apiTokens: V.apiTokens,
  grpcTlsCert: vars.string(
    'MQFT_GRPC_TLS_CERT',
    '',
    'PEM certificate chain file of the gRPC server; with MQFT_GRPC_TLS_KEY it serves TLS',
  ),
  grpcTlsKey: vars.string('MQFT_GRPC_TLS_KEY', '', 'PEM private key file of the gRPC server'),
  grpcAllowInsecureRemote: vars.boolean(
    'MQFT_GRPC_ALLOW_INSECURE_REMOTE',
    'false',
    'listen on a non-loopback address without MQFT_API_TOKENS (only behind something else that authenticates)',
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
  layout: V.layout,
  redisUrl: V.redisUrl,
  redisPrefix: V.redisPrefix,
  natsUrl: V.natsUrl,
  stream: V.stream,
  storage: V.storage,
  shutdownGrace: V.shutdownGrace,
  logLevel: V.logLevel,
  httpAddr: httpAddrVariable('127.0.0.1:9103'),
};

export type ControlConfig = ConfigOf<typeof controlConfigSchema>;

export function loadControlConfig(
  env: Record<string, string | undefined> = process.env,
): ControlConfig {
  return loadConfig(controlConfigSchema, env);
}
