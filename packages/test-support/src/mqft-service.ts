import { fileURLToPath } from 'node:url';
import { startServer, type ServerHandle } from './server-process.js';

export type MqftServiceName = 'ingest' | 'assembler' | 'control';

/** The repository root: services run from there, as `pnpm start` runs them. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * Starts one mqft service as a real process (`node --import tsx services/<name>/src/main.ts`)
 * with the given MQFT_* environment; its /metrics, /healthz, /readyz listen on the handle's
 * free port. Resolves once /readyz answers 200, i.e. its dependencies are connected.
 * kill()/restart() make chaos tests as easy as for the servers.
 */
export function startMqftService(
  service: MqftServiceName,
  env: Record<string, string>,
  options: { startTimeoutMs?: number } = {},
): Promise<ServerHandle> {
  return startServer({
    name: `mqft-${service}`,
    scheme: 'http',
    startTimeoutMs: options.startTimeoutMs ?? 30_000,
    async prepare({ host, port }) {
      return {
        command: process.execPath,
        args: ['--import', 'tsx', `services/${service}/src/main.ts`],
        cwd: REPO_ROOT,
        env: { ...process.env, MQFT_LOG_LEVEL: 'info', ...env, MQFT_HTTP_ADDR: `${host}:${port}` },
      };
    },
    async ready(ctx) {
      if (!(await ctx.log()).includes('ops endpoints listening')) return false;
      try {
        return (await fetch(`http://${ctx.host}:${ctx.port}/readyz`)).status === 200;
      } catch {
        return false;
      }
    },
  });
}
