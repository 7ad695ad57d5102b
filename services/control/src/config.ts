import {
  ConfigError,
  httpAddrVariable,
  loadConfig,
  MQFT_VARIABLES as V,
  type ConfigOf,
} from '@mqft/config';

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
  streamReplicas: V.streamReplicas,
  outcomesStream: V.outcomesStream,
  outcomesMaxAge: V.outcomesMaxAge,
  outcomesMaxBytes: V.outcomesMaxBytes,
  webhookUrl: V.webhookUrl,
  webhookSecret: V.webhookSecret,
  webhookMaxAttempts: V.webhookMaxAttempts,
  webhookTimeout: V.webhookTimeout,
  webhookBackoff: V.webhookBackoff,
  webhookBackoffMax: V.webhookBackoffMax,
  webhookConcurrency: V.webhookConcurrency,
  storage: V.storage,
  shutdownGrace: V.shutdownGrace,
  logLevel: V.logLevel,
  httpAddr: httpAddrVariable('127.0.0.1:9103'),
};

export type ControlConfig = ConfigOf<typeof controlConfigSchema>;

export function loadControlConfig(
  env: Record<string, string | undefined> = process.env,
): ControlConfig {
  const config = loadConfig(controlConfigSchema, env);
  const problems = webhookProblems(config);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** MQFT_WEBHOOK_URL, when set, is an http(s) URL and comes with a secret. */
export function webhookProblems(
  config: Pick<ControlConfig, 'webhookUrl' | 'webhookSecret'>,
): string[] {
  if (config.webhookUrl === '') return [];
  const problems: string[] = [];
  let protocol = '';
  try {
    protocol = new URL(config.webhookUrl).protocol;
  } catch {
    // reported below
  }
  if (protocol !== 'http:' && protocol !== 'https:')
    problems.push('MQFT_WEBHOOK_URL: expected an http:// or https:// URL');
  if (config.webhookSecret === '')
    problems.push(
      'MQFT_WEBHOOK_SECRET is required with MQFT_WEBHOOK_URL: receivers verify the signature with it',
    );
  return problems;
}
