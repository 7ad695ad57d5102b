import type { TokenAuthenticator } from '../auth.js';
import type { ControlContext } from '../context.js';
import type { ControlMetrics } from '../metrics.js';

/** What the HTTP API's routes work with, besides the RPC functions' context. */
export interface HttpDeps {
  ctx: ControlContext;
  auth: TokenAuthenticator;
  metrics: ControlMetrics;
  /** The console's built assets; a missing directory answers 404. */
  consoleDir: string;
  /** How often an idle event stream gets a comment line (keeps proxies from closing it). */
  heartbeatMs: number;
  /** Open event streams: aborted (ended) when the server stops or NATS is lost. */
  streams: Set<AbortController>;
}
