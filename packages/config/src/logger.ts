import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { loggable, loggableFields, MAX_LOGGED_MESSAGE_CHARS } from './redact.js';

export type { Logger };

/**
 * JSON logs, one event a line, with the service name on every line. Callers bind
 * clientId, fileId and key with `logger.child({ clientId, fileId, key })`. Every field (and
 * every child binding) is made loggable: secret-named fields (password, token, …) are
 * redacted, credentials inside URLs too, and every string is cut to a bounded length, so a
 * device-supplied clientId, fileId or topic cannot blow up a line; errors' messages and stacks
 * get the same treatment with a larger bound.
 */
export function createLogger(
  service: string,
  level: LoggerOptions['level'] = 'info',
  destination?: DestinationStream,
): Logger {
  const options: LoggerOptions = {
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      level: (label) => ({ level: label }),
      log: (fields) => loggableFields(fields),
    },
    serializers: { err: loggableError },
    hooks: {
      // The message itself (it may quote a device's topic or an error text).
      logMethod(args, method) {
        const [first, ...rest] = args;
        if (typeof first === 'string')
          return method.apply(this, [loggable(first, MAX_LOGGED_MESSAGE_CHARS), ...rest] as never);
        const [message, ...more] = rest;
        if (typeof message === 'string')
          return method.apply(this, [
            first,
            loggable(message, MAX_LOGGED_MESSAGE_CHARS),
            ...more,
          ] as never);
        return method.apply(this, args);
      },
    },
  };
  const logger = destination ? pino(options, destination) : pino(options);
  // pino applies the bindings formatter to the root's bindings only; children (which inherit
  // this method through their prototype) get theirs made loggable here.
  const child = logger.child;
  logger.child = function (this: Logger, bindings, childOptions) {
    return child.call(this, loggableFields(bindings), childOptions);
  } as Logger['child'];
  return logger;
}

function loggableError(err: unknown): unknown {
  const serialized = pino.stdSerializers.err(err as Error) as unknown;
  if (typeof serialized !== 'object' || serialized === null) return serialized;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(serialized)) {
    out[key] =
      typeof value === 'string'
        ? loggable(value, MAX_LOGGED_MESSAGE_CHARS)
        : typeof value === 'object' && value !== null && !(value instanceof Error)
          ? loggableFields({ [key]: value })[key]
          : value;
  }
  return out;
}
