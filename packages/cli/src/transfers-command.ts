import {
  ListTransfersResponse,
  TransferState,
  WatchEventType,
  WatchTransfersResponse,
  type ListTransfersRequest,
  type Timestamp,
  type Transfer,
} from '@mqft/api';
import { UsageError, parseCommand, parseDuration, parseInteger } from './args.js';
import {
  TransferApi,
  exitCodeOfApiError,
  isServiceError,
  type ApiConnection,
} from './api-client.js';
import { envReader, type EnvReader } from './env.js';
import { ExitCode } from './exit-codes.js';
import type { CliIo } from './io.js';
import { TRANSFERS_USAGE } from './transfers-usage.js';
import {
  readClientId,
  transferDetails,
  transferJson,
  transferLine,
  transfersTable,
} from './transfers-view.js';

const OPTIONS = {
  api: { type: 'string' },
  token: { type: 'string' },
  tls: { type: 'boolean', default: false },
  ca: { type: 'string' },
  json: { type: 'boolean', default: false },
  'client-id': { type: 'string' },
  state: { type: 'string' },
  'updated-after': { type: 'string' },
  limit: { type: 'string' },
  ttl: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

type Values = ReturnType<typeof parseCommand<typeof OPTIONS>>['values'];

interface Context {
  api: TransferApi;
  io: CliIo;
  values: Values;
  /** The positional arguments after the subcommand. */
  args: string[];
}

const SUBCOMMANDS: Record<string, (ctx: Context) => Promise<void>> = {
  list,
  get,
  watch,
  abort,
  url,
};

/** `mqft transfers list|get|watch|abort|url`. */
export async function runTransfers(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommand(argv, OPTIONS);
  const [sub, ...args] = positionals;
  if (values.help || sub === undefined) {
    io.stdout.write(`${TRANSFERS_USAGE}\n`);
    return values.help ? ExitCode.Ok : ExitCode.Usage;
  }
  const run = SUBCOMMANDS[sub];
  if (run === undefined) throw new UsageError(`unknown subcommand transfers ${sub}`);
  const env = envReader(io.env, (line) => io.stderr.write(line));
  const api = new TransferApi(apiConnection(values, env));
  try {
    await run({ api, io, values, args });
    return ExitCode.Ok;
  } catch (err) {
    if (!isServiceError(err)) throw err;
    const code = exitCodeOfApiError(err);
    if (values.json) {
      const error = { message: err.details || err.message, grpcCode: err.code };
      io.stdout.write(`${JSON.stringify({ ok: false, exitCode: code, error })}\n`);
    } else {
      io.stderr.write(`mqft transfers ${sub}: ${err.details || err.message}\n`);
    }
    return code;
  } finally {
    api.close();
  }
}

/** Where and with which token to call the API: the options first, then the environment. */
export function apiConnection(
  values: Pick<Values, 'api' | 'token' | 'tls' | 'ca'>,
  env: EnvReader,
): ApiConnection {
  return {
    address: values.api ?? env('apiAddr') ?? '127.0.0.1:50051',
    token: values.token ?? env('apiToken'),
    tls: values.tls,
    ca: values.ca,
  };
}

function transferName(ctx: Context): { clientId: string; fileId: string } {
  const [clientId, fileId, ...extra] = ctx.args;
  if (clientId === undefined || fileId === undefined || extra.length > 0) {
    throw new UsageError('expected CLIENT_ID FILE_ID');
  }
  return { clientId: readClientId(clientId), fileId };
}

function noArgs(ctx: Context): void {
  if (ctx.args.length > 0) throw new UsageError(`unexpected argument ${ctx.args[0]}`);
}

function filters(
  values: Values,
): Pick<ListTransfersRequest, 'clientId' | 'states' | 'updatedAfter'> {
  const states = (values.state ?? '')
    .split(',')
    .filter((s) => s !== '')
    .map((s) => {
      const state =
        TransferState[`TRANSFER_STATE_${s.toUpperCase()}` as keyof typeof TransferState];
      if (typeof state !== 'number' || state === TransferState.TRANSFER_STATE_UNSPECIFIED)
        throw new UsageError(`unknown state ${s}`);
      return state;
    });
  const after = values['updated-after'];
  return {
    clientId: values['client-id'] === undefined ? undefined : readClientId(values['client-id']),
    states,
    updatedAfter: after === undefined ? undefined : timestamp(after),
  };
}

function timestamp(text: string): Timestamp {
  const relative = /^\d+(\.\d+)?(ms|s|m|h|d)$/.test(text);
  const ms = relative ? Date.now() - parseDuration(text, '--updated-after') : Date.parse(text);
  if (Number.isNaN(ms)) throw new UsageError(`--updated-after: not a date or duration: ${text}`);
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}

async function list(ctx: Context): Promise<void> {
  noArgs(ctx);
  const limit = ctx.values.limit === undefined ? 100 : parseInteger(ctx.values.limit, '--limit', 0);
  const transfers: Transfer[] = [];
  let pageToken = '';
  do {
    const pageSize = limit === 0 ? 1000 : Math.min(1000, limit - transfers.length);
    const request = { ...filters(ctx.values), updatedBefore: undefined, pageSize, pageToken };
    const page = await ctx.api.list(request);
    transfers.push(...page.transfers);
    pageToken = page.nextPageToken;
  } while (pageToken !== '' && (limit === 0 || transfers.length < limit));
  if (ctx.values.json) {
    const json = ListTransfersResponse.toJSON({ transfers, nextPageToken: pageToken });
    ctx.io.stdout.write(`${JSON.stringify(json)}\n`);
  } else {
    ctx.io.stdout.write(`${transfersTable(transfers)}\n`);
    if (pageToken !== '') ctx.io.stderr.write(`(more than ${limit}; use --limit 0 for all)\n`);
  }
}

async function get(ctx: Context): Promise<void> {
  const { clientId, fileId } = transferName(ctx);
  const transfer = await ctx.api.get(clientId, fileId);
  const text = ctx.values.json ? JSON.stringify(transferJson(transfer)) : transferDetails(transfer);
  ctx.io.stdout.write(`${text}\n`);
}

async function abort(ctx: Context): Promise<void> {
  const { clientId, fileId } = transferName(ctx);
  const transfer = await ctx.api.abort(clientId, fileId);
  const text = ctx.values.json
    ? JSON.stringify(transferJson(transfer))
    : `aborted: ${transferLine(transfer)}`;
  ctx.io.stdout.write(`${text}\n`);
}

async function url(ctx: Context): Promise<void> {
  const { clientId, fileId } = transferName(ctx);
  const ttl = ctx.values.ttl === undefined ? undefined : parseDuration(ctx.values.ttl, '--ttl');
  const response = await ctx.api.downloadUrl(clientId, fileId, ttl);
  if (ctx.values.json) {
    const expires = response.expireTime;
    const expireTime = expires ? new Date(expires.seconds * 1000).toISOString() : undefined;
    ctx.io.stdout.write(`${JSON.stringify({ url: response.url, expireTime })}\n`);
  } else {
    ctx.io.stdout.write(`${response.url}\n`);
  }
}

/** Prints the snapshot, then every change, until interrupted. */
async function watch(ctx: Context): Promise<void> {
  noArgs(ctx);
  const controller = new AbortController();
  const stop = ctx.io.onInterrupt(() => controller.abort());
  try {
    await ctx.api.watch(
      filters(ctx.values),
      (message) => printEvent(ctx, message),
      controller.signal,
    );
  } finally {
    stop();
  }
}

function printEvent(ctx: Context, message: WatchTransfersResponse): void {
  if (ctx.values.json) {
    ctx.io.stdout.write(`${JSON.stringify(WatchTransfersResponse.toJSON(message))}\n`);
  } else if (message.type === WatchEventType.WATCH_EVENT_TYPE_SNAPSHOT_COMPLETE) {
    ctx.io.stdout.write('-- snapshot complete; watching for changes --\n');
  } else if (message.transfer) {
    const kind = message.type === WatchEventType.WATCH_EVENT_TYPE_SNAPSHOT ? 'now' : 'changed';
    ctx.io.stdout.write(`${new Date().toISOString()} ${kind} ${transferLine(message.transfer)}\n`);
  }
}
