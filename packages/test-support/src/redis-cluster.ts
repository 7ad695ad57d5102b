import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { exchange } from './ports.js';
import { startAll, startServer, type ServerHandle } from './server-process.js';
import { waitFor } from './wait.js';

const run = promisify(execFile);

export interface RedisClusterOptions {
  /** Replicas per master (default 0: three masters; 1: three masters + three replicas). */
  replicas?: 0 | 1;
  /** `cluster-node-timeout` in ms: how soon a dead master is failed over (default 1000). */
  nodeTimeoutMs?: number;
}

export interface RedisClusterHandle {
  /** `redis+cluster://127.0.0.1:P1,127.0.0.1:P2,…` (every node), as MQFT_REDIS_URL reads it. */
  readonly url: string;
  readonly nodes: ServerHandle[];
  /** The nodes that are running masters now (asked of every running node). */
  masters(): Promise<ServerHandle[]>;
  /** Waits until every running node reports `cluster_state:ok` (e.g. after a failover). */
  waitOk(timeoutMs?: number): Promise<void>;
  /**
   * Waits until every master has a replica whose link to it is up and synced: only such a
   * replica can be promoted when its master dies. A node restarted a moment ago rejoins as a
   * replica but is not one yet (its full sync is still to come); killing its master then is
   * two failures at once, and the cluster stays down ("Disconnected from master for longer
   * than allowed").
   */
  waitReplicasInSync(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const REDIS_BIN = process.env.MQFT_REDIS_SERVER_BIN ?? 'redis-server';
const REDIS_CLI = process.env.MQFT_REDIS_CLI_BIN ?? 'redis-cli';

/** One RESP command as an inline request, its (bulk or simple) reply as text. */
async function ask(node: ServerHandle, ...command: string[]): Promise<string> {
  const request = `*${command.length}\r\n${command.map((c) => `$${Buffer.byteLength(c)}\r\n${c}\r\n`).join('')}`;
  const answer = await exchange(node.host, node.port, request, (got) => {
    const text = got.toString();
    const bulk = /^\$(\d+)\r\n/.exec(text);
    if (bulk) return got.length >= bulk[0].length + Number(bulk[1]) + 2;
    return text.includes('\r\n');
  });
  const text = answer.toString();
  if (text.startsWith('-')) throw new Error(`${command.join(' ')}: ${text.trim()}`);
  return text.replace(/^\$\d+\r\n/, '').replace(/^\+/, '');
}

function startClusterNode(nodeTimeoutMs: number): Promise<ServerHandle> {
  return startServer({
    name: 'redis-cluster',
    scheme: 'redis',
    prepare({ host, port, dir }) {
      const args = ['--port', String(port), '--bind', host, '--dir', dir];
      args.push('--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf');
      args.push('--cluster-node-timeout', String(nodeTimeoutMs));
      args.push('--save', '', '--appendonly', 'no', '--daemonize', 'no');
      // A replica's full sync starts at once, not after the default 5 s wait for more replicas.
      args.push('--repl-diskless-sync-delay', '0');
      return { command: REDIS_BIN, args };
    },
    async ready(ctx) {
      if (!/Ready to accept connections/.test(await ctx.log())) return false;
      const answer = await exchange(ctx.host, ctx.port, 'PING\r\n', (got) => got.includes('\r\n'));
      return answer.toString().startsWith('+PONG');
    },
  });
}

/**
 * A real Redis Cluster on loopback: three masters (and with `replicas: 1` one replica each),
 * every node its own redis-server in its own temp dir, joined by `redis-cli --cluster create`.
 * Resolves once every node says `cluster_state:ok`.
 */
export async function startRedisCluster(
  opts: RedisClusterOptions = {},
): Promise<RedisClusterHandle> {
  const replicas = opts.replicas ?? 0;
  const nodeTimeoutMs = opts.nodeTimeoutMs ?? 1000;
  const count = 3 * (1 + replicas);
  const nodes = await startAll(count, () => startClusterNode(nodeTimeoutMs));
  const stop = async () => {
    await Promise.allSettled(nodes.map((n) => n.stop()));
  };
  const waitOk = async (timeoutMs = 15_000) => {
    await waitFor(
      async () => {
        const infos = await Promise.all(
          nodes.filter((n) => n.running).map((n) => ask(n, 'CLUSTER', 'INFO')),
        );
        return infos.every((info) => info.includes('cluster_state:ok'));
      },
      { timeoutMs, intervalMs: 100, what: 'Redis Cluster state ok on every node' },
    );
  };
  const waitReplicasInSync = async (timeoutMs = 15_000) => {
    if (replicas === 0) return;
    await waitFor(
      async () => {
        const running = nodes.filter((n) => n.running);
        const infos = await Promise.all(running.map((n) => ask(n, 'INFO', 'replication')));
        const inSync = infos.filter(
          (info) =>
            info.includes('role:slave') &&
            info.includes('master_link_status:up') &&
            info.includes('master_sync_in_progress:0'),
        );
        const masters = infos.filter((info) => info.includes('role:master'));
        // Every master sees a replica online, and that many replicas see their link up.
        return (
          masters.length === 3 &&
          masters.every((info) => /connected_slaves:[1-9]/.test(info)) &&
          inSync.length >= 3 * replicas
        );
      },
      { timeoutMs, intervalMs: 100, what: 'Redis Cluster replicas in sync' },
    );
  };
  try {
    const addresses = nodes.map((n) => `${n.host}:${n.port}`);
    await run(REDIS_CLI, [
      '--cluster',
      'create',
      ...addresses,
      '--cluster-replicas',
      String(replicas),
      '--cluster-yes',
    ]);
    await waitOk();
    await waitReplicasInSync();
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url: `redis+cluster://${nodes.map((n) => `${n.host}:${n.port}`).join(',')}`,
    nodes,
    async masters() {
      const running = nodes.filter((n) => n.running);
      const roles = await Promise.all(
        running.map((n) => ask(n, 'INFO', 'replication').catch(() => '')),
      );
      return running.filter((_, i) => (roles[i] ?? '').includes('role:master'));
    },
    waitOk,
    waitReplicasInSync,
    stop,
  };
}
