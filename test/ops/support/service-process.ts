import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  freePort,
  REPO_ROOT,
  SERVICE_RUNTIME_ENV,
  sleep,
  type MqftServiceName,
} from '@mqft/test-support';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** From the signal sent by terminate() to the exit (0 when the process exited by itself). */
  ms: number;
}

/**
 * One mqft service process, like `startMqftService` (the bundle, SERVICE_RUNTIME_ENV, a free
 * ops port, resolved once /readyz answers 200), but whose exit code and timing the test sees:
 * what a Kubernetes kubelet sees when it sends SIGTERM.
 */
export interface ServiceProcess {
  readonly service: MqftServiceName;
  /** http://127.0.0.1:PORT of /metrics, /healthz, /readyz. */
  readonly url: string;
  readonly pid: number;
  readonly running: boolean;
  readonly exited: Promise<Exit>;
  /** Sends `signal` (default SIGTERM) and waits for the exit. */
  terminate(signal?: NodeJS.Signals): Promise<Exit>;
  /** The process's log (JSON lines of pino plus anything on stderr). */
  log(): Promise<string>;
  /** Kills it if still running and removes its temp dir. */
  dispose(): Promise<void>;
}

export interface StartOptions {
  /** Working directory (default: the repository, as the stack launchers run services). */
  cwd?: string;
  /** The bundle to run, relative to cwd (default `dist/<service>.mjs`). */
  entry?: string;
  /** Run as this uid/gid (a non-root user, as in the container image). */
  uid?: number;
  gid?: number;
  /** Do not inherit this process's environment (as a container would not). */
  cleanEnv?: boolean;
  startTimeoutMs?: number;
}

export async function startService(
  service: MqftServiceName,
  env: Record<string, string>,
  options: StartOptions = {},
): Promise<ServiceProcess> {
  const dir = await mkdtemp(join(tmpdir(), `mqft-ops-${service}-`));
  const logFile = join(dir, `${service}.log`);
  const port = await freePort();
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(
      process.execPath,
      ['--enable-source-maps', options.entry ?? `dist/${service}.mjs`],
      {
        cwd: options.cwd ?? REPO_ROOT,
        stdio: ['ignore', fd, fd],
        env: {
          ...(options.cleanEnv ? { PATH: process.env.PATH ?? '/usr/bin:/bin' } : process.env),
          ...SERVICE_RUNTIME_ENV,
          MQFT_LOG_LEVEL: 'info',
          ...env,
          MQFT_HTTP_ADDR: `127.0.0.1:${port}`,
        },
        ...(options.uid !== undefined ? { uid: options.uid } : {}),
        ...(options.gid !== undefined ? { gid: options.gid } : {}),
      },
    );
  } finally {
    closeSync(fd);
  }
  let exit: { code: number | null; signal: NodeJS.Signals | null; at: number } | undefined;
  let signalledAt: number | undefined;
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal, at: performance.now() };
      resolve({ code, signal, ms: signalledAt === undefined ? 0 : exit.at - signalledAt });
    });
  });
  const url = `http://127.0.0.1:${port}`;
  const log = () => readFile(logFile, 'utf8').catch(() => '');
  const handle: ServiceProcess = {
    service,
    url,
    pid: child.pid ?? -1,
    get running() {
      return exit === undefined;
    },
    exited,
    async terminate(signal = 'SIGTERM') {
      if (exit === undefined) {
        signalledAt = performance.now();
        child.kill(signal);
      }
      return exited;
    },
    log,
    async dispose() {
      if (exit === undefined) child.kill('SIGKILL');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  for (;;) {
    if (exit !== undefined) {
      const text = await log();
      await handle.dispose();
      throw new Error(`${service} exited (code ${exit.code}) before it was ready:\n${text}`);
    }
    if ((await readyStatus(url)) === 200) return handle;
    if (Date.now() > deadline) {
      const text = await log();
      await handle.dispose();
      throw new Error(`${service} not ready within the start timeout:\n${text.slice(-4000)}`);
    }
    await sleep(50);
  }
}

/** The status of GET /readyz, or 0 when nothing answers. */
export async function readyStatus(url: string): Promise<number> {
  try {
    const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) });
    await res.text();
    return res.status;
  } catch {
    return 0;
  }
}

/** GET /readyz: status and body. */
export async function readiness(url: string): Promise<{ status: number; body: string }> {
  try {
    const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) });
    return { status: res.status, body: await res.text() };
  } catch (err) {
    return { status: 0, body: String(err) };
  }
}

/** The value of one sample of a service's /metrics (undefined when absent). */
export async function metricValue(
  url: string,
  name: string,
  labels: Record<string, string> = {},
): Promise<number | undefined> {
  let text: string;
  try {
    text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(2_000) })).text();
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const sample = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => sample[k] === v)) return Number(match[3]);
  }
  return undefined;
}
