import fsp from 'node:fs/promises';
import path from 'node:path';
import { exchange } from './ports.js';
import { startServer, type LaunchContext, type ServerHandle } from './server-process.js';

export interface NatsOptions {
  /** Enable JetStream, stored in the temp dir (default true). */
  jetstream?: boolean;
  /** The server's max_payload in bytes (nats-server's default is 1 MiB, its cap 64 MiB). */
  maxPayload?: number;
  /** Appended to the generated config (nats-server config syntax). */
  extraConfig?: string;
}

const NATS_BIN = process.env.MQFT_NATS_SERVER_BIN ?? 'nats-server';

function natsConfig(opts: NatsOptions, port: number, dir: string): string {
  const lines = [`listen: "127.0.0.1:${port}"`, `server_name: "mqft_test_${port}"`];
  if (opts.maxPayload !== undefined) lines.push(`max_payload: ${opts.maxPayload}`);
  if (opts.jetstream !== false) {
    // Explicit limits: the defaults are sized from the whole machine (tens of GB).
    const storeDir = JSON.stringify(path.join(dir, 'jetstream'));
    lines.push(`jetstream {`, `  store_dir: ${storeDir}`, `  max_memory_store: 1GB`, `}`);
  }
  if (opts.extraConfig) lines.push(opts.extraConfig);
  return lines.join('\n') + '\n';
}

/**
 * PING answered; with JetStream, also a `$JS.API.INFO` request answered without error (the
 * stream API works, not just the socket).
 */
async function natsAnswers(ctx: LaunchContext, jetstream: boolean): Promise<boolean> {
  const ping = 'CONNECT {"verbose":false,"pedantic":false}\r\nPING\r\n';
  if (!jetstream) {
    const answer = await exchange(ctx.host, ctx.port, ping, (got) => got.includes('PONG\r\n'));
    return answer.includes('PONG\r\n');
  }
  const request =
    'CONNECT {"verbose":false,"pedantic":false}\r\n' +
    'SUB _INBOX.mqft_probe 1\r\nPUB $JS.API.INFO _INBOX.mqft_probe 0\r\n\r\n';
  const answer = (
    await exchange(ctx.host, ctx.port, request, (got) =>
      /MSG _INBOX\.mqft_probe 1 \d+\r\n.*\r\n/s.test(got.toString()),
    )
  ).toString();
  return answer.includes('account_info_response') && !answer.includes('"error"');
}

/** Starts nats-server (JetStream on by default) on a free port; url `nats://127.0.0.1:PORT`. */
export function startNats(opts: NatsOptions = {}): Promise<ServerHandle> {
  const jetstream = opts.jetstream !== false;
  return startServer({
    name: 'nats',
    scheme: 'nats',
    async prepare({ port, dir }) {
      const file = path.join(dir, 'nats.conf');
      await fsp.writeFile(file, natsConfig(opts, port, dir));
      return { command: NATS_BIN, args: ['-c', file] };
    },
    async ready(ctx) {
      if (!/Server is ready/.test(await ctx.log())) return false;
      return natsAnswers(ctx, jetstream);
    },
  });
}
