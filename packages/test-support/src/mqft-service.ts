import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';
import { startServer, type ServerHandle } from './server-process.js';

export type MqftServiceName = 'ingest' | 'assembler' | 'control';

/**
 * How the services' Node runs, here and in deploy/ (container image): a small young
 * generation (V8 otherwise reserves ~48 MiB for it) and two malloc arenas (glibc otherwise
 * keeps per-thread arenas of freed segment buffers). Measured on the 300 MiB S3 assembly:
 * peak RSS 168–178 MiB instead of 230 MiB (semi-space 2 MiB: 184–200).
 */
export const SERVICE_RUNTIME_ENV: Readonly<Record<string, string>> = {
  NODE_OPTIONS: '--max-semi-space-size=1',
  MALLOC_ARENA_MAX: '2',
};

/** The repository root: services run from there, as `pnpm start` runs them. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface MqftServiceOptions {
  startTimeoutMs?: number;
  /** Working directory (default: the repository, as `pnpm start` runs the services). */
  cwd?: string;
  /** The bundle to run, relative to cwd (default `dist/<service>.mjs`). */
  entry?: string;
  /** Run as this uid/gid (a non-root user, as in the container image). */
  uid?: number;
  gid?: number;
  /** Do not inherit this process's environment (as a container would not); PATH stays. */
  cleanEnv?: boolean;
}

/**
 * Starts one mqft service as a real process — the bundle `dist/<name>.mjs` that `pnpm build`
 * makes (what containers run; the integration tests' global setup builds it) — with the given
 * MQFT_* environment; its /metrics, /healthz, /readyz listen on the handle's free port
 * (`url`). Resolves once /readyz answers 200, i.e. its dependencies are connected.
 * kill()/restart() make chaos tests as easy as for the servers; terminate() shows what a
 * kubelet sees on SIGTERM (exit code, time to exit). control's HTTP API gets a free port
 * unless MQFT_HTTP_API_ADDR says otherwise (its default port would clash between tests).
 */
export function startMqftService(
  service: MqftServiceName,
  env: Record<string, string>,
  options: MqftServiceOptions = {},
): Promise<ServerHandle> {
  const level = env.MQFT_LOG_LEVEL ?? 'info';
  const announcesOpsEndpoints = ['info', 'debug', 'trace', ''].includes(level);
  return startServer({
    name: `mqft-${service}`,
    scheme: 'http',
    startTimeoutMs: options.startTimeoutMs ?? 30_000,
    async prepare({ host, port }) {
      const apiAddr =
        service === 'control' && env.MQFT_HTTP_API_ADDR === undefined
          ? { MQFT_HTTP_API_ADDR: `127.0.0.1:${await freePort()}` }
          : {};
      return {
        command: process.execPath,
        args: ['--enable-source-maps', options.entry ?? `dist/${service}.mjs`],
        cwd: options.cwd ?? REPO_ROOT,
        ...(options.uid !== undefined ? { uid: options.uid } : {}),
        ...(options.gid !== undefined ? { gid: options.gid } : {}),
        env: {
          ...(options.cleanEnv ? { PATH: process.env.PATH ?? '/usr/bin:/bin' } : process.env),
          ...SERVICE_RUNTIME_ENV,
          MQFT_LOG_LEVEL: 'info',
          ...apiAddr,
          ...env,
          MQFT_HTTP_ADDR: `${host}:${port}`,
        },
      };
    },
    async ready(ctx) {
      // The line proves the port is this process's; a quieter log level does not print it,
      // and then a start that failed to bind is seen by the process's exit instead.
      if (announcesOpsEndpoints && !(await ctx.log()).includes('ops endpoints listening')) {
        return false;
      }
      try {
        return (await fetch(`http://${ctx.host}:${ctx.port}/readyz`)).status === 200;
      } catch {
        return false;
      }
    },
  });
}
