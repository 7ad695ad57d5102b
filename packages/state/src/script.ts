import type { Redis } from 'ioredis';
import type { ReasonDescription } from '@mqft/protocol';
import type { RedisClient } from './redis.js';

/**
 * One Lua script and its whole contract, defined once: the names of its KEYS and of its ARGV
 * (in order: the Lua sees them as `K.<name>` and `A.<name>`, the caller passes them by name),
 * and a decoder that checks the reply. A reply the decoder does not know is a
 * ScriptReplyError, never a cast.
 */
export interface ScriptDefinition<
  K extends string = string,
  A extends string = string,
  R = unknown,
> {
  readonly name: string;
  readonly keys: readonly K[];
  readonly argv: readonly A[];
  /** The full Lua, the prelude that names KEYS and ARGV included. */
  readonly lua: string;
  readonly decode: (reply: unknown) => R;
}

/** The named keys a script is called with (extra fields are ignored). */
export type ScriptKeys<K extends string> = { readonly [P in K]: string };
/** The named arguments a script is called with; '' stands for "none". */
export type ScriptArgs<A extends string> = { readonly [P in A]: string | number };

/** A Lua identifier, so that `K.<name>` and `A.<name>` are valid Lua. */
const LUA_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function defineScript<const K extends string, const A extends string, R>(spec: {
  name: string;
  keys: readonly K[];
  argv: readonly A[];
  /** Lua that reads its keys as `K.<name>` and its arguments as `A.<name>` (strings). */
  body: string;
  decode: (reply: ReplyReader) => R;
}): ScriptDefinition<K, A, R> {
  for (const name of [...spec.keys, ...spec.argv]) {
    if (!LUA_NAME.test(name)) throw new Error(`${spec.name}: ${name} is not a Lua name`);
  }
  const table = (names: readonly string[], source: string) =>
    `{${names.map((n, i) => `${n} = ${source}[${i + 1}]`).join(', ')}}`;
  const lua = `local K = ${table(spec.keys, 'KEYS')}\nlocal A = ${table(spec.argv, 'ARGV')}\n${spec.body}`;
  return {
    name: spec.name,
    keys: spec.keys,
    argv: spec.argv,
    lua,
    decode: (reply) => spec.decode(new ReplyReader(spec.name, reply)),
  };
}

/**
 * A script answered something its definition does not allow (a script out of step with its
 * caller, a bug): the command is not known to have had its effect, so it is retried later.
 */
export class ScriptReplyError extends Error {
  override readonly name = 'ScriptReplyError';
  readonly reason: ReasonDescription = 'unavailable';

  constructor(
    readonly script: string,
    readonly reply: unknown,
    problem: string,
  ) {
    super(`${script} replied ${preview(reply)}: ${problem}`);
  }
}

function preview(reply: unknown): string {
  const text = JSON.stringify(reply) ?? String(reply);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/** Reads a script's reply; every accessor refuses what it does not expect. */
export class ReplyReader {
  constructor(
    readonly script: string,
    readonly raw: unknown,
  ) {}

  fail(problem: string): never {
    throw new ScriptReplyError(this.script, this.raw, problem);
  }

  /** The reply as a list of `min`..`max` items (Lua drops trailing nils). */
  list(min: number, max = min): unknown[] {
    if (!Array.isArray(this.raw)) return this.fail('not a list');
    if (this.raw.length < min || this.raw.length > max)
      return this.fail(`expected ${min === max ? min : `${min}-${max}`} items`);
    return this.raw as unknown[];
  }

  /** A list of strings of any length (the reply, or one of its items). */
  strings(value: unknown = this.raw): string[] {
    if (!Array.isArray(value)) return this.fail('not a list');
    return value.map((item) => this.text(item));
  }

  /** One of `allowed`: the status every stateful script answers first. */
  oneOf<const S extends string>(value: unknown, allowed: readonly S[]): S {
    if (typeof value === 'string' && (allowed as readonly string[]).includes(value))
      return value as S;
    return this.fail(`status ${preview(value)} is none of ${allowed.join(', ')}`);
  }

  /** A string (a Lua number is read as its decimal text); missing reads as ''. */
  text(value: unknown): string {
    if (value === undefined || value === null) return '';
    if (typeof value === 'string') return value;
    if (typeof value === 'number' && Number.isInteger(value)) return String(value);
    return this.fail(`${preview(value)} is not a string`);
  }

  /** A non-negative integer, as a Lua number or its decimal text. */
  integer(value: unknown): number {
    const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
    if (!Number.isSafeInteger(n) || n < 0 || value === '')
      return this.fail(`${preview(value)} is not an integer`);
    return n;
  }

  /** 1 or 0 (a Lua boolean-as-number). */
  flag(value: unknown = this.raw): boolean {
    if (value === 1 || value === '1') return true;
    if (value === 0 || value === '0') return false;
    return this.fail(`${preview(value)} is not 0 or 1`);
  }
}

type ScriptCall = (...args: (string | number)[]) => Promise<unknown>;

/**
 * Runs scripts on one client, each reply decoded. The scripts are registered (ioredis
 * `defineCommand`: EVALSHA, loading the script on NOSCRIPT) all at once, when the runner is
 * made: ioredis's auto-pipelining copies the defined commands into each pipeline it opens, so
 * a script defined later fails in a pipeline opened before ("pipeline[name] is not a
 * function").
 */
export class ScriptRunner {
  private readonly calls = new Map<string, ScriptCall>();

  constructor(
    readonly redis: RedisClient,
    scripts: readonly ScriptDefinition[],
  ) {
    for (const script of scripts) this.register(script);
  }

  async run<K extends string, A extends string, R>(
    script: ScriptDefinition<K, A, R>,
    keys: ScriptKeys<K>,
    args: ScriptArgs<A>,
  ): Promise<R> {
    const call = this.calls.get(script.name);
    if (!call) throw new Error(`script ${script.name} is not registered on this runner`);
    const reply = await call(
      ...script.keys.map((k) => keys[k]),
      ...script.argv.map((a) => args[a]),
    );
    return script.decode(reply);
  }

  private register(script: ScriptDefinition): void {
    // Redis and Cluster both have defineCommand; their union's overloads do not unify.
    const client = this.redis as Redis;
    client.defineCommand(script.name, { numberOfKeys: script.keys.length, lua: script.lua });
    const call = (client as unknown as Record<string, ScriptCall | undefined>)[script.name];
    if (!call) throw new Error(`script ${script.name} was not registered`);
    this.calls.set(script.name, call.bind(client));
  }
}
