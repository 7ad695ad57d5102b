import fsp from 'node:fs/promises';
import path from 'node:path';
import { exchange, freePort } from './ports.js';
import { startAll, startServer, type ServerHandle } from './server-process.js';
import { waitFor } from './wait.js';

export interface NatsClusterOptions {
  /** Number of servers (default 3; JetStream needs a majority of them). */
  size?: number;
  /** The servers' max_payload in bytes. */
  maxPayload?: number;
}

export interface NatsClusterHandle {
  /** `nats://127.0.0.1:P1,nats://127.0.0.1:P2,…` (every server), as MQFT_NATS_URL reads it. */
  readonly url: string;
  readonly nodes: ServerHandle[];
  /** Waits until `$JS.API.INFO` answers without error on every running server. */
  waitJetStream(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const NATS_BIN = process.env.MQFT_NATS_SERVER_BIN ?? 'nats-server';

/** True once JetStream answers (which needs a meta leader) on this client port. */
async function jetStreamAnswers(host: string, port: number): Promise<boolean> {
  const request =
    'CONNECT {"verbose":false,"pedantic":false}\r\n' +
    'SUB _INBOX.mqft_probe 1\r\nPUB $JS.API.INFO _INBOX.mqft_probe 0\r\n\r\n';
  const answer = (
    await exchange(host, port, request, (got) =>
      /MSG _INBOX\.mqft_probe 1 \d+\r\n.*\r\n/s.test(got.toString()),
    )
  ).toString();
  return answer.includes('account_info_response') && !answer.includes('"error"');
}

/**
 * A real NATS cluster with JetStream on loopback: `size` nats-servers, each with its own
 * `server_name`, `jetstream.store_dir` and a `cluster {}` block routing to all others. Cluster
 * ports are chosen up front (the routes name them); client ports are free ones per server.
 * Resolves once JetStream answers on every server (a meta leader was elected).
 */
export async function startNatsCluster(opts: NatsClusterOptions = {}): Promise<NatsClusterHandle> {
  const size = opts.size ?? 3;
  const clusterName = `mqft_c${process.pid}_${Date.now().toString(36)}`;
  const routePorts: number[] = [];
  while (routePorts.length < size) {
    const port = await freePort();
    if (!routePorts.includes(port)) routePorts.push(port);
  }
  const routes = routePorts.map((p) => `nats-route://127.0.0.1:${p}`);
  const start = (index: number) =>
    startServer({
      name: `nats-c${index}`,
      scheme: 'nats',
      startTimeoutMs: 30_000,
      async prepare({ port, dir }) {
        const lines = [
          `listen: "127.0.0.1:${port}"`,
          `server_name: "${clusterName}_n${index}"`,
          ...(opts.maxPayload !== undefined ? [`max_payload: ${opts.maxPayload}`] : []),
          `jetstream {`,
          `  store_dir: ${JSON.stringify(path.join(dir, 'jetstream'))}`,
          `  max_memory_store: 256MB`,
          `  max_file_store: 8GB`, // a reservation ceiling (streams reserve their max_bytes), not disk used
          `}`,
          `cluster {`,
          `  name: "${clusterName}"`,
          `  listen: "127.0.0.1:${routePorts[index]}"`,
          `  routes: [${routes.filter((_, i) => i !== index).join(', ')}]`,
          `}`,
        ];
        const file = path.join(dir, 'nats.conf');
        await fsp.writeFile(file, lines.join('\n') + '\n');
        return { command: NATS_BIN, args: ['-c', file] };
      },
      // JetStream answers only once the cluster has a meta leader, which needs the others up:
      // each server is ready once it listens for clients; the cluster check follows below.
      async ready(ctx) {
        if (!/Server is ready/.test(await ctx.log())) return false;
        const ping = 'CONNECT {"verbose":false,"pedantic":false}\r\nPING\r\n';
        const answer = await exchange(ctx.host, ctx.port, ping, (got) => got.includes('PONG\r\n'));
        return answer.includes('PONG\r\n');
      },
    });
  const nodes = await startAll(size, start);
  const stop = async () => {
    await Promise.allSettled(nodes.map((n) => n.stop()));
  };
  const waitJetStream = async (timeoutMs = 30_000) => {
    await waitFor(
      async () => {
        const answers = await Promise.all(
          nodes.filter((n) => n.running).map((n) => jetStreamAnswers(n.host, n.port)),
        );
        return answers.every(Boolean);
      },
      { timeoutMs, intervalMs: 100, what: 'a JetStream meta leader in the NATS cluster' },
    );
  };
  try {
    await waitJetStream();
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: nodes.map((n) => n.url).join(','), nodes, waitJetStream, stop };
}
