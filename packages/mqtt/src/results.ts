import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import {
  buildResult,
  encodeResult,
  responseTopicFor,
  type ReasonDescription,
} from '@mqft/protocol';
import type { ReplyTo } from '@mqft/stream';

/** Who a result is for: where the command asked to be answered, and who sent it. */
export interface ResultTarget {
  reply: ReplyTo;
  clientId: string;
  anonymous: boolean;
}

export interface ResultContent {
  reason: ReasonDescription;
  /** Cut to the first MAX_MISSING_RANGES by buildResult. */
  missing?: readonly (readonly [number, number])[];
  /** More ranges are missing than `missing` lists. */
  missingMore?: boolean;
  location?: string;
}

/**
 * `published`: the broker acked the result. `failed`: it did not (within the timeout, or
 * the publish was refused). `unanswerable`: nobody can be answered (anonymous sender without
 * a Response Topic, or a topic no broker would accept); the gRPC API tells those results.
 */
export const RESULT_OUTCOMES = ['published', 'failed', 'unanswerable'] as const;
export type ResultOutcome = (typeof RESULT_OUTCOMES)[number];

/** How long a result waits for the broker's PUBACK before it counts as `failed`. */
export const RESULT_PUBACK_TIMEOUT_MS = 10_000;

export type ResultCounter = Counter<'reason' | 'outcome'>;

const RESULTS_METRIC = 'mqft_results_published_total';

/**
 * The results counter of a registry, created on first use: a process may hold several
 * connections that publish results, and a registry refuses a metric registered twice.
 */
export function resultsCounter(registry: Registry): ResultCounter {
  const existing = registry.getSingleMetric(RESULTS_METRIC);
  if (existing) return existing as ResultCounter;
  return new Counter({
    name: RESULTS_METRIC,
    help: 'Results for devices, by reason description and outcome (published, failed, unanswerable)',
    labelNames: ['reason', 'outcome'] as const,
    registers: [registry],
  });
}

export interface PublishResultOptions {
  counter?: ResultCounter;
  /** How long to wait for the broker's PUBACK before reporting `failed` (default 10 s). */
  timeoutMs?: number;
}

/**
 * Publishes one result (docs/protocol.md "Results"), QoS 1, on the command's Response Topic with
 * its Correlation Data echoed, else on `$file-response/{clientId}`. Never throws: a result
 * that cannot be delivered is logged and counted, and the device retransmits its command.
 */
export async function publishResult(
  client: MqttClient,
  target: ResultTarget,
  content: ResultContent,
  logger: Logger,
  options: PublishResultOptions = {},
): Promise<ResultOutcome> {
  const { reason } = content;
  const count = (outcome: ResultOutcome): ResultOutcome => {
    options.counter?.inc({ reason, outcome });
    return outcome;
  };
  const topic = resultTopic(target);
  if (topic === undefined) {
    logger.info({ reason, deviceTopic: target.reply.deviceTopic }, 'result has no topic to go to');
    return count('unanswerable');
  }
  const result = buildResult({ deviceTopic: target.reply.deviceTopic, ...content });
  const correlation = target.reply.correlation;
  const publishOptions: Parameters<MqttClient['publishAsync']>[2] = { qos: 1 };
  if (correlation !== undefined && client.options.protocolVersion === 5) {
    publishOptions.properties = { correlationData: Buffer.from(correlation) };
  }
  try {
    await withTimeout(
      client.publishAsync(topic, encodeResult(result), publishOptions),
      options.timeoutMs ?? RESULT_PUBACK_TIMEOUT_MS,
    );
    logger.debug({ reason, topic }, 'result published');
    return count('published');
  } catch (err) {
    logger.warn({ err, reason, topic }, 'result not published');
    return count('failed');
  }
}

/** A publisher bound to one client, its registry's counter and a logger. */
export interface ResultPublisher {
  publish(target: ResultTarget, content: ResultContent, logger?: Logger): Promise<ResultOutcome>;
}

export function createResultPublisher(
  client: MqttClient,
  registry: Registry,
  logger: Logger,
  options: Omit<PublishResultOptions, 'counter'> = {},
): ResultPublisher {
  const counter = resultsCounter(registry);
  return {
    publish: (target, content, childLogger) =>
      publishResult(client, target, content, childLogger ?? logger, { ...options, counter }),
  };
}

/**
 * The topic a result goes to, or undefined. A Response Topic comes from a device and is
 * checked like a topic NAME: publishing to one with a wildcard makes the broker drop the
 * connection, and MQTT.js would resend the same publish after every reconnect.
 */
export function resultTopic(target: ResultTarget): string | undefined {
  const topic = responseTopicFor({
    responseTopic: target.reply.responseTopic,
    clientId: target.clientId,
    anonymous: target.anonymous,
  });
  return topic !== undefined && isPublishableTopic(topic) ? topic : undefined;
}

export function isPublishableTopic(topic: string): boolean {
  return (
    topic !== '' &&
    !/[+#]/.test(topic) &&
    !topic.includes('\u0000') &&
    Buffer.byteLength(topic, 'utf8') <= 65_535 &&
    !/\p{Cs}/u.test(topic)
  );
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no PUBACK within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
