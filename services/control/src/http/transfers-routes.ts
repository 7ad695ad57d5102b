import { TransferState, type Transfer } from '@mqft/api';
import { eventSubject } from '@mqft/stream';
import { TransferStore } from '@mqft/state';
import { failedPrecondition, notFound } from '../errors.js';
import { abortTransfer } from '../rpc/abort-transfer.js';
import { loadTransfer, requireTransferId } from '../rpc/common.js';
import { getTransfer } from '../rpc/get-transfer.js';
import { listTransfers } from '../rpc/list-transfers.js';
import { toTransfer } from '../transfer-mapping.js';
import type { HttpDeps } from './context.js';
import { sendStoredFile } from './download.js';
import { badRequest } from './errors.js';
import { sendJson } from './respond.js';
import type { HttpRequest, Route } from './router.js';
import { STATE_NAMES, transferJson, type TransferStateName } from './transfer-json.js';

/** mqft's own routes under /api/v1: what EMQX's API lacks (in-progress transfers, abort, delete). */
export function transfersRoutes(deps: HttpDeps): Route[] {
  const { ctx } = deps;
  const json = (transfer: Transfer | undefined) => transferJson(required(transfer), ctx.now());
  const store = new TransferStore(ctx.queries.redis, ctx.queries.prefix);
  return [
    {
      method: 'GET',
      template: '/api/v1/transfers',
      async handle({ res, query, scope }) {
        const client = query.get('client');
        const page = await listTransfers(
          ctx,
          {
            clientId: client === null ? undefined : client,
            states: statesOf(query),
            pageSize: integerOf(query, 'limit') ?? 0,
            pageToken: query.get('page_token') ?? '',
            updatedAfter: undefined,
            updatedBefore: undefined,
          },
          scope,
        );
        const body: { transfers: unknown[]; next_page_token?: string } = {
          transfers: page.transfers.map(json),
        };
        if (page.nextPageToken !== '') body.next_page_token = page.nextPageToken;
        sendJson(res, 200, body);
      },
    },
    {
      method: 'GET',
      template: '/api/v1/transfers/{clientId}/{fileId}',
      async handle({ res, params, scope }) {
        const { transfer } = await getTransfer(ctx, idOf(params), scope);
        sendJson(res, 200, json(transfer));
      },
    },
    {
      method: 'POST',
      template: '/api/v1/transfers/{clientId}/{fileId}/abort',
      async handle({ res, params, scope }) {
        const { transfer } = await abortTransfer(ctx, idOf(params), scope);
        sendJson(res, 200, json(transfer));
      },
    },
    {
      method: 'GET',
      template: '/api/v1/transfers/{clientId}/{fileId}/content',
      async handle(request: HttpRequest) {
        await sendStoredFile(ctx, idOf(request.params), request);
      },
    },
    {
      method: 'DELETE',
      template: '/api/v1/files/{clientId}/{fileId}',
      async handle({ res, params }) {
        const id = requireTransferId(idOf(params));
        const record = await loadTransfer(ctx, id);
        if (toTransfer(record, ctx.now()).state !== TransferState.TRANSFER_STATE_COMPLETE)
          throw failedPrecondition('only a complete transfer has a stored file to delete');
        if (record.deletedAt === undefined) {
          if (record.name === undefined) throw failedPrecondition('the transfer has no file name');
          await ctx.storage.delete({ clientId: id.clientId, fileId: id.fileId, name: record.name });
          const marked = await store.markFileDeleted(id.key, ctx.now());
          if (marked.status === 'not_complete') throw notFound('the transfer is gone');
          ctx.nc.publish(
            eventSubject(ctx.settings.stream, id.key),
            JSON.stringify({ key: id.key, state: 'complete', deleted: true, at: ctx.now() }),
          );
          ctx.logger.info(
            { key: id.key, clientId: id.clientId, fileId: id.fileId },
            'stored file deleted through the HTTP API',
          );
        }
        res.writeHead(204, { 'cache-control': 'no-store' });
        res.end();
      },
    },
  ];
}

export function idOf(params: Readonly<Record<string, string>>) {
  return { clientId: params.clientId ?? '', fileId: params.fileId ?? '' };
}

function required(transfer: Transfer | undefined): Transfer {
  if (transfer === undefined) throw new Error('the RPC answered without a transfer');
  return transfer;
}

/** `state=complete&state=failed` or `state=complete,failed`. */
export function statesOf(query: URLSearchParams): TransferState[] {
  const names = query.getAll('state').flatMap((value) => value.split(','));
  return names
    .filter((name) => name !== '')
    .map((name) => {
      const state = Object.hasOwn(STATE_NAMES, name)
        ? STATE_NAMES[name as TransferStateName]
        : undefined;
      if (state === undefined)
        throw badRequest(
          `state: unknown state ${JSON.stringify(name.slice(0, 32))}; one of ${Object.keys(STATE_NAMES).join(', ')}`,
        );
      return state;
    });
}

export function integerOf(query: URLSearchParams, name: string): number | undefined {
  const text = query.get(name);
  if (text === null) return undefined;
  if (!/^[0-9]{1,9}$/.test(text)) throw badRequest(`${name} must be a non-negative integer`);
  return Number(text);
}
