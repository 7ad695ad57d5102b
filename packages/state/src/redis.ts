import { Cluster, Redis } from 'ioredis';

export type RedisClient = Redis | Cluster;

/**
 * `redis://host:port[/db]`, `rediss://…`, or `redis+cluster://host:port,host:port` for Redis
 * Cluster (redirections and retries handled by ioredis). Each cluster node may also carry the
 * scheme itself (`redis+cluster://h1:p1,redis+cluster://h2:p2`).
 */
export function createRedis(url: string, options: { name?: string } = {}): RedisClient {
  if (url.startsWith('redis+cluster://')) {
    const nodes = url.split(',').map((hostPort) => {
      const [host, port] = hostPort
        .trim()
        .replace(/^redis\+cluster:\/\//, '')
        .split(':');
      return { host: host ?? '127.0.0.1', port: Number(port ?? 6379) };
    });
    return new Cluster(nodes, {
      scaleReads: 'master',
      enableAutoPipelining: true,
      clusterRetryStrategy: (times) => Math.min(100 * times, 2000),
      redisOptions: { connectionName: options.name, maxRetriesPerRequest: 5 },
    });
  }
  return new Redis(url, {
    connectionName: options.name,
    // Commands issued in the same tick (many transfers at once) leave in one socket write: one
    // write per command was the assembler's largest CPU cost with many small files.
    enableAutoPipelining: true,
    maxRetriesPerRequest: 5,
    retryStrategy: (times) => Math.min(100 * times, 2000),
  });
}

/** True once the client can run commands (for /readyz). */
export function redisReady(client: RedisClient): boolean {
  return client.status === 'ready';
}
