import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { UploadError, upload, type UploadErrorKind, type UploadResult } from '@mqft/client';
import { ExitCode, type ExitCodeValue } from './exit-codes.js';
import { formatBytes } from './format.js';
import { envReader } from './env.js';
import type { CliIo } from './io.js';
import { ProgressView } from './progress-view.js';
import { UPLOAD_USAGE, parseUploadArgs, type UploadArgs } from './upload-args.js';

const EXIT_OF: Record<UploadErrorKind, ExitCodeValue> = {
  rejected: ExitCode.Rejected,
  gave_up: ExitCode.GaveUp,
  busy: ExitCode.GaveUp,
  aborted: ExitCode.Aborted,
  checksum_mismatch: ExitCode.Source,
  source: ExitCode.Source,
  connection: ExitCode.Connection,
  unsupported: ExitCode.Usage,
};

/** `mqft upload`: exit 0 only once the cluster confirmed the file. */
export async function runUpload(argv: string[], io: CliIo): Promise<number> {
  const args = parseUploadArgs(
    argv,
    envReader(io.env, (line) => io.stderr.write(line)),
  );
  if (args === 'help') {
    io.stdout.write(`${UPLOAD_USAGE}\n`);
    return ExitCode.Ok;
  }
  let client: MqttClient;
  try {
    client = await connect(args);
  } catch (err) {
    return report(
      io,
      args,
      ExitCode.Connection,
      `cannot connect to ${args.broker}: ${message(err)}`,
    );
  }
  try {
    const result = await transfer(client, args, io);
    return succeed(io, args, result);
  } catch (err) {
    if (err instanceof UploadError) return failUpload(io, args, err);
    throw err;
  } finally {
    await client.endAsync(true).catch(() => undefined);
  }
}

async function connect(args: UploadArgs): Promise<MqttClient> {
  const options: IClientOptions = {
    clientId: args.clientId,
    protocolVersion: args.mqttVersion,
    clean: true,
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
  };
  if (args.username !== undefined) options.username = args.username;
  if (args.password !== undefined) options.password = args.password;
  // No retries for the first connection: a wrong URL or credentials fail at once.
  const client = await connectAsync(args.broker, options, false);
  // Later errors (a refused reconnect) must not crash the process; MQTT.js keeps retrying.
  client.on('error', () => undefined);
  return client;
}

async function transfer(client: MqttClient, args: UploadArgs, io: CliIo): Promise<UploadResult> {
  const controller = new AbortController();
  let interrupts = 0;
  const stopInterrupts = io.onInterrupt(() => {
    interrupts += 1;
    if (interrupts > 1) process.exit(130); // a second Ctrl-C does not wait for the abort
    if (!args.json) io.stderr.write('\ninterrupted: aborting the transfer…\n');
    controller.abort();
  });
  const view = args.json || args.quiet ? undefined : new ProgressView(io);
  const running = upload(client, args.file, {
    ...args.options,
    signal: controller.signal,
    offlineTimeoutMs: args.offlineTimeoutMs,
  });
  running.on('start', (info) => {
    if (view && info.resumedBytes > 0) {
      io.stderr.write(
        `resuming ${info.fileId}: ${formatBytes(info.resumedBytes)} already stored\n`,
      );
    }
  });
  running.on('progress', (progress) => view?.update(progress, progress.fraction === 1));
  try {
    return await running.done;
  } finally {
    view?.finish();
    stopInterrupts();
  }
}

function succeed(io: CliIo, args: UploadArgs, result: UploadResult): number {
  if (args.json) {
    io.stdout.write(`${JSON.stringify({ ok: true, ...result })}\n`);
  } else {
    const what = `${result.clientId}/${result.fileId} (${formatBytes(result.size)}, sha256 ${result.checksum})`;
    io.stdout.write(`stored ${what}\nlocation: ${result.location}\n`);
  }
  return ExitCode.Ok;
}

function failUpload(io: CliIo, args: UploadArgs, err: UploadError): number {
  const code = EXIT_OF[err.kind];
  const detail = {
    kind: err.kind,
    reasonCode: err.reasonCode,
    reasonDescription: err.reasonDescription,
    topic: err.topic,
  };
  return report(io, args, code, err.message, detail);
}

function report(
  io: CliIo,
  args: UploadArgs,
  code: number,
  text: string,
  detail: Record<string, unknown> = {},
): number {
  if (args.json) {
    const error = { message: text, ...detail };
    io.stdout.write(`${JSON.stringify({ ok: false, exitCode: code, error })}\n`);
  } else {
    io.stderr.write(`mqft upload: ${text}\n`);
  }
  return code;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
