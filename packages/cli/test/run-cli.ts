import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const MQFT_BIN = fileURLToPath(new URL('../bin/mqft.js', import.meta.url));

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The `mqft` executable as a child process, its output collected. */
export function startCli(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [MQFT_BIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => (output.stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()));
  const exited = new Promise<CliRun>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, ...output })),
  );
  return { child: child as ChildProcess, output, exited };
}

export function runCli(args: string[], env?: Record<string, string>): Promise<CliRun> {
  return startCli(args, env).exited;
}
