import { httpAddrVariable, loadConfig, MQFT_VARIABLES as V, type ConfigOf } from '@mqft/config';

export const controlConfigSchema = {
  grpcAddr: V.grpcAddr,
  apiTokens: V.apiTokens,
  grpcTlsCert: V.grpcTlsCert,
  grpcTlsKey: V.grpcTlsKey,
  grpcAllowInsecureRemote: V.grpcAllowInsecureRemote,
  httpApiAddr: V.httpApiAddr,
  consoleDir: V.consoleDir,
  downloadUrlTtl: V.downloadUrlTtl,
  abortWait: V.abortWait,
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
