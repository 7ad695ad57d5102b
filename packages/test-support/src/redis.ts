import { exchange } from './ports.js';
import { startServer, type ServerHandle } from './server-process.js';

// Reserved for later (e.g. cluster mode); an object so options can grow compatibly.
export type RedisOptions = Record<string, never>;

const REDIS_BIN = process.env.MQFT_REDIS_SERVER_BIN ?? 'redis-server';

/**
 * Starts redis-server on a free port, keeping nothing on disk (`--save "" --appendonly no`,
 * as small deployments run it); url `redis://127.0.0.1:PORT`.
 */
export function startRedis(_opts: RedisOptions = {}): Promise<ServerHandle> {
  return startServer({
    name: 'redis',
    scheme: 'redis',
    prepare({ host, port, dir }) {
      const args = ['--port', String(port), '--bind', host, '--dir', dir];
      args.push('--save', '', '--appendonly', 'no', '--daemonize', 'no');
      return { command: REDIS_BIN, args };
    },
    async ready(ctx) {
      if (!/Ready to accept connections/.test(await ctx.log())) return false;
      const answer = await exchange(ctx.host, ctx.port, 'PING\r\n', (got) => got.includes('\r\n'));
      return answer.toString().startsWith('+PONG');
    },
  });
}
