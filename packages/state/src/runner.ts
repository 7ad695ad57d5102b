import type { RedisClient } from './redis.js';
import { ScriptRunner } from './script.js';
import { ALL_SCRIPTS } from './scripts.js';

/** One runner per client, shared by the stores built on it. */
const runners = new WeakMap<RedisClient, ScriptRunner>();

/** The client's runner, every script of ALL_SCRIPTS registered on it. */
export function scriptRunner(redis: RedisClient): ScriptRunner {
  let runner = runners.get(redis);
  if (!runner) {
    runner = new ScriptRunner(redis, ALL_SCRIPTS);
    runners.set(redis, runner);
  }
  return runner;
}
