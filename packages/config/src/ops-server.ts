import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from './logger.js';

/** A named readiness check: a dependency connected, the service not draining, … */
export type ReadinessCheck = () => boolean | Promise<boolean>;

export interface OpsServer {
  readonly port: number;
  /** Readiness turns false for good: the service is draining. */
  drain(): void;
  close(): Promise<void>;
}

/**
 * `/metrics` (Prometheus text), `/healthz` (the process answers), `/readyz` (every check
 * passes and not draining; the body names the failing checks).
 */
export async function startOpsServer(options: {
  host: string;
  port: number;
  registry: Registry;
  checks: Record<string, ReadinessCheck>;
  logger: Logger;
}): Promise<OpsServer> {
  let draining = false;
  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/metrics') {
        res.writeHead(200, { 'content-type': options.registry.contentType });
        res.end(await options.registry.metrics());
      } else if (path === '/healthz') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('ok\n');
      } else if (path === '/readyz') {
        const failing = draining ? ['draining'] : await failingChecks(options.checks);
        res.writeHead(failing.length === 0 ? 200 : 503, { 'content-type': 'text/plain' });
        res.end(failing.length === 0 ? 'ready\n' : `not ready: ${failing.join(', ')}\n`);
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found\n');
      }
    })().catch((err: unknown) => {
      options.logger.error({ err }, 'ops endpoint failed');
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  options.logger.info({ host: options.host, port }, 'ops endpoints listening');
  return {
    port,
    drain: () => {
      draining = true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function failingChecks(checks: Record<string, ReadinessCheck>): Promise<string[]> {
  const results = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      try {
        return (await check()) ? undefined : name;
      } catch {
        return name;
      }
    }),
  );
  return results.filter((name): name is string => name !== undefined);
}
