import type { Logger } from 'pino';
import { sleep } from '@mqft/config';
import type { ReasonDescription } from '@mqft/protocol';
import type { ResultOutcome, ResultPublisher, ResultTarget } from '@mqft/mqtt';
import { planCommand, type HandlerLimits, type Plan } from './handlers/index.js';
import {
  decodeMessage,
  type CommandProperties,
  type DecodeOptions,
  type DecodedMessage,
} from './message.js';
import type { IngestMetrics } from './metrics.js';
import { StreamUnavailableError, type StreamPublisher } from './publisher.js';
import { maxPartBytes } from './segments.js';

export interface MessageHandlerDeps {
  decode: DecodeOptions;
  limits: Omit<HandlerLimits, 'maxPartBytes'>;
  /** The NATS server's max_payload now (it may change with a reconnect to another server). */
  maxPayload: () => number;
  publisher: StreamPublisher;
  results: ResultPublisher;
  metrics: IngestMetrics;
  logger: Logger;
  /** Results still on their way to the broker, so shutdown can wait for them. */
  pendingResults: Set<Promise<unknown>>;
  /** How long an error result may hold up the command's ack (default 2 s). */
  errorResultWaitMs?: number;
}

/**
 * Everything ingest does with one MQTT message, up to the point where it may be acked.
 * Resolves (never rejects) once every stream message the command became is acked by
 * JetStream, or once the device has been told why not.
 */
export type MessageHandler = (
  topic: string,
  payload: Uint8Array,
  properties: CommandProperties | undefined,
  /** The QoS the command arrived at (default 1): 0 is handled alike, and counted. */
  qos?: 0 | 1 | 2,
) => Promise<void>;

export function createMessageHandler(deps: MessageHandlerDeps): MessageHandler {
  const handling = new CommandHandling(deps);
  return (topic, payload, properties, qos = 1) => handling.handle(topic, payload, properties, qos);
}

type Decoded = DecodedMessage;
type Stored = Plan & { action: 'store' };

class CommandHandling {
  private readonly errorResultWaitMs: number;

  constructor(private readonly deps: MessageHandlerDeps) {
    this.errorResultWaitMs = deps.errorResultWaitMs ?? 2_000;
  }

  async handle(
    topic: string,
    payload: Uint8Array,
    properties: CommandProperties | undefined,
    qos: 0 | 1 | 2,
  ) {
    const { deps } = this;
    deps.metrics.bytesReceived.inc(payload.byteLength);
    const decoded = decodeMessage(topic, properties, deps.decode);
    const { clientId, fileId, key } = decoded;
    const log = deps.logger.child({ clientId, fileId, key });
    const kind = decoded.ok ? decoded.command.kind : (decoded.kind ?? 'unknown');
    // QoS 0: the broker gives no redelivery, so a segment may be lost on the way; the device
    // still gets every result (it resends what stays unanswered), and operators see the count.
    if (qos === 0) deps.metrics.qos0Commands.inc({ kind });
    try {
      if (!decoded.ok) return await this.reject(decoded, kind, decoded.error, log);
      const limits = { ...deps.limits, maxPartBytes: maxPartBytes(deps.maxPayload(), decoded.key) };
      const { command, reply } = decoded;
      const plan = planCommand({ command, payload, key: decoded.key, reply }, limits);
      if (plan.action === 'reject') return await this.reject(decoded, kind, plan.error, log);
      await this.store(decoded, plan, log);
    } catch (err) {
      // A bug must not wedge the connection (nothing else arrives until this message is
      // acked); the device hears `unavailable` and retransmits.
      log.error({ err, kind, deviceTopic: decoded.deviceTopic }, 'command handling failed');
      deps.metrics.commands.inc({ kind, reason: 'unavailable' });
      await this.answerError(decoded, 'unavailable', log);
    }
  }

  private async store(decoded: Decoded & { ok: true }, plan: Stored, log: Logger) {
    const kind = decoded.command.kind;
    try {
      await this.deps.publisher.publishAll(plan.messages);
    } catch (err) {
      if (!(err instanceof StreamUnavailableError)) throw err;
      // A message JetStream can never take is the command's fault; anything else is ours,
      // and the device retransmits.
      const reason = err.permanent ? 'invalid_file_command' : 'unavailable';
      return this.reject(decoded, kind, { reason, message: err.message }, log);
    }
    this.deps.metrics.commands.inc({ kind, reason: plan.answer ?? 'forwarded' });
    log.debug({ kind, messages: plan.messages.length }, 'command stored');
    // A segment's success goes out only now that every part is durable. Not awaited: the
    // device retransmits a segment whose result it never saw, and that is idempotent.
    if (plan.answer !== undefined) void this.answer(decoded, plan.answer, log);
  }

  private async reject(
    decoded: Decoded,
    kind: string,
    error: { reason: ReasonDescription; message: string },
    log: Logger,
  ) {
    const { reason } = error;
    this.deps.metrics.commands.inc({ kind, reason });
    const deviceTopic = decoded.deviceTopic;
    log.info({ kind, reason, detail: error.message, deviceTopic }, 'command rejected');
    await this.answerError(decoded, reason, log);
  }

  // Errors are rare, so their ack may wait for the broker to take the result; a bound keeps
  // a broker hiccup from stalling the connection.
  private async answerError(decoded: Decoded, reason: ReasonDescription, log: Logger) {
    await Promise.race([this.answer(decoded, reason, log), sleep(this.errorResultWaitMs)]);
  }

  private answer(decoded: Decoded, reason: ReasonDescription, log: Logger): Promise<ResultOutcome> {
    const { reply, clientId, anonymous } = decoded;
    const target: ResultTarget = { reply, clientId, anonymous };
    const sent = this.deps.results.publish(target, { reason }, log);
    this.deps.pendingResults.add(sent);
    void sent.finally(() => this.deps.pendingResults.delete(sent));
    return sent;
  }
}
