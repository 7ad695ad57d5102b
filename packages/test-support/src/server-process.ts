import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.js';
import { sleep } from './wait.js';

/** How a server process ended. */
export interface ServerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** From the signal terminate() sent to the exit (0 when it had already exited). */
  ms: number;
}

/** A real server process started for a test, on its own loopback port and temp dir. */
export interface ServerHandle {
  /** The spec's short name (e.g. `mosquitto`, `mqft-ingest`). */
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly url: string;
  /** The server's own temp dir: config, data, log. */
  readonly dir: string;
  /** The server's stdout and stderr, appended across restarts. */
  readonly logFile: string;
  /** Whether the process is running (false after kill(), stop() or a crash). */
  readonly running: boolean;
  /** The running process's id (undefined when not running). */
  readonly pid: number | undefined;
  /** Graceful: SIGTERM, then SIGKILL after 5 s; removes the temp dir. */
  stop(): Promise<void>;
  /**
   * Sends `signal` (default SIGTERM) and waits, however long it takes (no SIGKILL), for the
   * exit: what a kubelet sees. Keeps the dir; stop() still cleans up.
   */
  terminate(signal?: NodeJS.Signals): Promise<ServerExit>;
  /** SIGKILL; keeps the dir, so restart() finds the data again (chaos tests). */
  kill(): Promise<void>;
  /** Starts again on the SAME port with the same dir; stops a running server gracefully first. */
  restart(): Promise<void>;
  /** The last lines of the log. */
  logTail(lines?: number): Promise<string>;
}

export interface LaunchCommand {
  command: string;
  args: string[];
  /** Working directory (default: the server's temp dir). */
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Run as this uid/gid (e.g. the container image's non-root user). */
  uid?: number;
  gid?: number;
}

export interface LaunchContext {
  readonly host: string;
  readonly port: number;
  readonly dir: string;
  /** The log written since this launch began. */
  log(): Promise<string>;
}

/** What distinguishes one kind of server; everything else is shared. */
export interface ServerSpec {
  /** Short name: temp dir prefix, log file name, error messages. */
  name: string;
  /** URL scheme of the handle's `url`. */
  scheme: string;
  /** Writes the config into `dir` for `port` and says how to run the server. */
  prepare(ctx: { host: string; port: number; dir: string }): LaunchCommand | Promise<LaunchCommand>;
  /**
   * One readiness check: true once the server really answers. Each spec requires a log line
   * the server prints only after binding the port AND a protocol-level answer, so a probe can
   * never be answered by whoever else holds a port that our server failed to bind.
   */
  ready(ctx: LaunchContext): Promise<boolean>;
  /** How long a start may take (default 15 s). */
  startTimeoutMs?: number;
  /** A fixed port instead of a free one (the local stack's broker); fails if it is taken. */
  port?: number;
}

interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
}

const ADDRESS_IN_USE = /address already in use|EADDRINUSE/i;
const START_ATTEMPTS = 5;
const STOP_GRACE_MS = 5_000;
const RESTART_BIND_WAIT_MS = 10_000;

export class AddressInUseError extends Error {}

const live = new Set<ManagedServer>();
let exitHookInstalled = false;
let signalsOwnedByCaller = false;

/**
 * For programs (not tests) that stop their servers gracefully on SIGINT/SIGTERM themselves:
 * the launchers then only clean up on process exit.
 */
export function handleSignalsYourself(): void {
  signalsOwnedByCaller = true;
}

/** Best effort: no test run leaves server processes or temp dirs behind. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', destroyAllSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      if (signalsOwnedByCaller) return;
      destroyAllSync();
      // Keep the default behaviour (terminate) unless someone else handles the signal.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

function destroyAllSync(): void {
  for (const server of live) server.destroySync();
  live.clear();
}

async function fileSize(file: string): Promise<number> {
  try {
    return (await fsp.stat(file)).size;
  } catch {
    return 0;
  }
}

async function readFrom(file: string, offset: number): Promise<string> {
  try {
    const handle = await fsp.open(file, 'r');
    try {
      const { size } = await handle.stat();
      const buffer = Buffer.alloc(Math.max(0, size - offset));
      await handle.read(buffer, 0, buffer.length, offset);
      return buffer.toString('utf8');
    } finally {
      await handle.close();
    }
  } catch {
    return '';
  }
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** Spawns with stdout and stderr appended to `logFile` (the child writes it directly). */
function spawnLogged(
  { command, args, cwd, env, uid, gid }: LaunchCommand,
  dir: string,
  logFile: string,
): { child: ChildProcess; exited: Promise<ExitInfo> } {
  const fd = fs.openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    fs.writeSync(fd, `--- ${new Date().toISOString()} ${command} ${args.join(' ')}\n`);
    child = spawn(command, args, {
      cwd: cwd ?? dir,
      stdio: ['ignore', fd, fd],
      env: env ?? process.env,
      ...(uid !== undefined ? { uid } : {}),
      ...(gid !== undefined ? { gid } : {}),
    });
  } finally {
    fs.closeSync(fd);
  }
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
  });
  return { child, exited };
}

class ManagedServer implements ServerHandle {
  readonly host = '127.0.0.1';
  readonly logFile: string;
  port = 0;
  private child: ChildProcess | undefined;
  private exited: Promise<ExitInfo> = Promise.resolve({ code: null, signal: null });
  private exitInfo: ExitInfo | undefined;

  constructor(
    private readonly spec: ServerSpec,
    readonly dir: string,
  ) {
    this.logFile = path.join(dir, `${spec.name}.log`);
  }

  get name(): string {
    return this.spec.name;
  }

  get url(): string {
    return `${this.spec.scheme}://${this.host}:${this.port}`;
  }

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  get running(): boolean {
    return this.child !== undefined && this.exitInfo === undefined;
  }

  /** First start: a fresh free port per attempt, since another process may win the race. */
  async start(): Promise<void> {
    if (this.spec.port !== undefined) return this.launch(this.spec.port);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.launch(await freePort(this.host));
        return;
      } catch (err) {
        if (!(err instanceof AddressInUseError) || attempt >= START_ATTEMPTS) throw err;
      }
    }
  }

  async restart(): Promise<void> {
    if (this.running) await this.signalAndWait('SIGTERM', STOP_GRACE_MS);
    live.add(this);
    // The port was ours a moment ago; the kernel may need a moment to release it.
    const deadline = Date.now() + RESTART_BIND_WAIT_MS;
    for (;;) {
      try {
        await this.launch(this.port);
        return;
      } catch (err) {
        if (!(err instanceof AddressInUseError) || Date.now() > deadline) throw err;
        await sleep(200);
      }
    }
  }

  async stop(): Promise<void> {
    await this.signalAndWait('SIGTERM', STOP_GRACE_MS);
    live.delete(this);
    await fsp.rm(this.dir, { recursive: true, force: true });
  }

  async kill(): Promise<void> {
    await this.signalAndWait('SIGKILL', 0);
  }

  async terminate(signal: NodeJS.Signals = 'SIGTERM'): Promise<ServerExit> {
    const signalledAt = performance.now();
    const wasRunning = this.running;
    if (wasRunning) this.child?.kill(signal);
    const { code, signal: by } = await this.exited;
    return { code, signal: by, ms: wasRunning ? performance.now() - signalledAt : 0 };
  }

  async logTail(lines = 40): Promise<string> {
    return tail(await readFrom(this.logFile, 0), lines);
  }

  destroySync(): void {
    if (this.running) this.child?.kill('SIGKILL');
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private async signalAndWait(signal: NodeJS.Signals, graceMs: number): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    child.kill(signal);
    if (graceMs > 0) {
      const gone = await Promise.race([this.exited.then(() => true), sleep(graceMs)]);
      if (!gone && this.running) child.kill('SIGKILL');
    }
    await this.exited;
  }

  private async launch(port: number): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true });
    const launch = await this.spec.prepare({ host: this.host, port, dir: this.dir });
    const logOffset = await fileSize(this.logFile);
    const { child, exited } = spawnLogged(launch, this.dir, this.logFile);
    let exitInfo: ExitInfo | undefined;
    void exited.then((info) => {
      exitInfo = info;
      if (this.child === child) this.exitInfo = info;
    });
    const ctx: LaunchContext = {
      host: this.host,
      port,
      dir: this.dir,
      log: () => readFrom(this.logFile, logOffset),
    };
    const timeoutMs = this.spec.startTimeoutMs ?? 15_000;
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    for (;;) {
      if (exitInfo) throw await this.startFailure(ctx, exitInfo);
      try {
        if ((await this.spec.ready(ctx)) && !exitInfo) break;
      } catch (err) {
        lastError = err;
      }
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        await exited;
        const why = lastError instanceof Error ? ` (last probe: ${lastError.message})` : '';
        throw new Error(
          `${this.spec.name} did not answer on ${this.host}:${port} within ${timeoutMs} ms${why}; ` +
            `the end of its log:\n${tail(await ctx.log(), 30)}`,
        );
      }
      await sleep(25);
    }
    this.child = child;
    this.exited = exited;
    this.exitInfo = undefined;
    this.port = port;
  }

  private async startFailure(ctx: LaunchContext, info: ExitInfo): Promise<Error> {
    const log = await ctx.log();
    if (ADDRESS_IN_USE.test(log)) {
      return new AddressInUseError(`${this.spec.name}: port ${ctx.port} is in use`);
    }
    const how = info.error
      ? `could not be started (${info.error.message})`
      : `exited (code ${info.code}, signal ${info.signal}) before answering on ${ctx.host}:${ctx.port}`;
    return new Error(`${this.spec.name} ${how}; the end of its log:\n${tail(log, 30)}`);
  }
}

/**
 * Starts the server that `spec` describes on a free loopback port in a new temp dir and
 * resolves once it answers. On failure nothing is left behind, and the error carries the
 * tail of the server's log.
 */
export async function startServer(spec: ServerSpec): Promise<ServerHandle> {
  installExitHook();
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), `mqft-${spec.name}-`));
  const server = new ManagedServer(spec, dir);
  live.add(server);
  try {
    await server.start();
  } catch (err) {
    live.delete(server);
    await fsp.rm(dir, { recursive: true, force: true });
    throw err;
  }
  return server;
}

/**
 * Starts several servers at once (the nodes of a cluster); if any fails, stops those that
 * started and rethrows, so nothing is left running.
 */
export async function startAll<T extends { stop(): Promise<void> }>(
  count: number,
  start: (index: number) => Promise<T>,
): Promise<T[]> {
  const settled = await Promise.allSettled(Array.from({ length: count }, (_, i) => start(i)));
  const started = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.allSettled(started.map((n) => n.stop()));
    throw failed.reason;
  }
  return started;
}
