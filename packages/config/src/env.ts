import { parseByteSize, parseDuration } from './duration.js';
import { isSecretName, loggable, REDACTED } from './redact.js';

/** One environment variable: its name, default, documentation and how to read it. */
export interface Variable<T> {
  readonly name: string;
  readonly defaultText: string | undefined;
  readonly description: string;
  /** Returns the value, or a string that says what is wrong with the text. */
  readonly read: (text: string) => T | { problem: string };
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Environment = Record<string, string | undefined>;
type Schema = Record<string, Variable<unknown>>;
export type ConfigOf<S extends Schema> = {
  [K in keyof S]: S[K] extends Variable<infer T> ? T : never;
};

function isProblem(value: unknown): value is { problem: string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    'problem' in value &&
    Object.keys(value).length === 1
  );
}

/**
 * Reads every variable of the schema, and reports ALL problems at once so an operator
 * fixes a deployment in one round, not one variable per restart.
 */
export function loadConfig<S extends Schema>(
  schema: S,
  env: Environment = process.env,
): ConfigOf<S> {
  const problems: string[] = [];
  const config: Record<string, unknown> = {};
  for (const [field, variable] of Object.entries(schema)) {
    const raw = env[variable.name];
    const text = raw === undefined || raw === '' ? variable.defaultText : raw;
    if (text === undefined) {
      problems.push(`${variable.name} is required: ${variable.description}`);
      continue;
    }
    const value = variable.read(text);
    if (isProblem(value))
      problems.push(`${variable.name}=${shownValue(variable.name, text)}: ${value.problem}`);
    else config[field] = value;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config as ConfigOf<S>;
}

/** A value as an error message may echo it: never a secret, URL credentials redacted, cut. */
function shownValue(name: string, text: string): string {
  return isSecretName(name) ? REDACTED : JSON.stringify(loggable(text, 200));
}

function variable<T>(
  name: string,
  defaultText: string | undefined,
  description: string,
  read: (text: string) => T | { problem: string },
): Variable<T> {
  return { name, defaultText, description, read };
}

export const vars = {
  string(name: string, defaultText: string | undefined, description: string): Variable<string> {
    return variable(name, defaultText, description, (text) => text);
  },
  url(
    name: string,
    defaultText: string,
    description: string,
    schemes: readonly string[],
  ): Variable<string> {
    return variable(name, defaultText, description, (text) => {
      const [first, ...rest] = text.split(',').map((part) => part.trim());
      // `redis+cluster://h1:p1,h2:p2`: only the first seed carries the scheme.
      const parts =
        /^[a-z+]+:\/\//.test(first ?? '') && rest.every((p) => /^[^/:]+:\d+$/.test(p))
          ? [first ?? '']
          : [first ?? '', ...rest];
      for (const part of parts) {
        let url: URL;
        try {
          url = new URL(part);
        } catch {
          return { problem: `not a URL (expected ${schemes.map((s) => `${s}//…`).join(' or ')})` };
        }
        if (!schemes.includes(url.protocol)) {
          return { problem: `scheme ${url.protocol} is not one of ${schemes.join(', ')}` };
        }
      }
      return text;
    });
  },
  integer(
    name: string,
    defaultText: string,
    description: string,
    min: number,
    max = Number.MAX_SAFE_INTEGER,
  ): Variable<number> {
    return variable(name, defaultText, description, (text) => {
      const value = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
      if (!Number.isSafeInteger(value) || value < min || value > max) {
        return { problem: `expected a whole number from ${min} to ${max}` };
      }
      return value;
    });
  },
  duration(name: string, defaultText: string, description: string, minMs = 0): Variable<number> {
    return variable(name, defaultText, description, (text) => {
      const value = parseDuration(text);
      if (value === undefined) return { problem: 'expected a duration such as 500ms, 3s, 2m, 24h' };
      if (value < minMs) return { problem: `must be at least ${minMs} ms` };
      return value;
    });
  },
  bytes(
    name: string,
    defaultText: string,
    description: string,
    min = 0,
    max = Number.MAX_SAFE_INTEGER,
  ): Variable<number> {
    return variable(name, defaultText, description, (text) => {
      const value = parseByteSize(text);
      if (value === undefined)
        return { problem: 'expected a byte size such as 65536, 64KiB, 16MiB' };
      if (value < min) return { problem: `must be at least ${min} bytes` };
      if (value > max) return { problem: `must be at most ${max} bytes` };
      return value;
    });
  },
  oneOf<T extends string>(
    name: string,
    defaultText: T,
    description: string,
    values: readonly T[],
  ): Variable<T> {
    return variable(name, defaultText, description, (text) =>
      (values as readonly string[]).includes(text)
        ? (text as T)
        : { problem: `expected one of ${values.join(', ')}` },
    );
  },
  list(name: string, defaultText: string, description: string): Variable<string[]> {
    return variable(name, defaultText, description, (text) =>
      text
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== ''),
    );
  },
  hostPort(
    name: string,
    defaultText: string,
    description: string,
  ): Variable<{ host: string; port: number }> {
    return variable<{ host: string; port: number }>(name, defaultText, description, (text) => {
      const match = /^(\[[^\]]+\]|[^:]*):(\d{1,5})$/.exec(text.trim());
      const port = Number(match?.[2]);
      if (!match || port > 65535)
        return { problem: 'expected host:port, e.g. 127.0.0.1:50051 or 0.0.0.0:9101' };
      return { host: (match[1] ?? '').replace(/^\[|\]$/g, '') || '0.0.0.0', port };
    });
  },
  boolean(name: string, defaultText: string, description: string): Variable<boolean> {
    return variable(name, defaultText, description, (text) => {
      if (/^(1|true|yes|on)$/i.test(text)) return true;
      if (/^(0|false|no|off)$/i.test(text)) return false;
      return { problem: 'expected true or false' };
    });
  },
};
