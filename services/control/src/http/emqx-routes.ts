import { status } from '@grpc/grpc-js';
import { parseTransferKey } from '@mqft/protocol';
import type { IndexCursor, TransferRecord } from '@mqft/state';
import type { ControlContext } from '../context.js';
import { RpcError } from '../errors.js';
import { decodePageToken, encodePageToken } from '../page-token.js';
import { requireState, requireTime, requireTransferId } from '../rpc/common.js';
import { MAX_URL_TTL_MS } from '../rpc/get-download-url.js';
import { SCAN_BUDGET } from '../rpc/list-transfers.js';
import type { HttpDeps } from './context.js';
import { sendStoredFile } from './download.js';
import { badRequest, HttpError, notFound } from './errors.js';
import { integerOf } from './transfers-routes.js';
import { sendJson } from './respond.js';
import type { Route } from './router.js';

/** EMQX's default and (here) largest page. */
export const EMQX_DEFAULT_LIMIT = 100;
export const EMQX_MAX_LIMIT = 1000;
/** The page-token fingerprint of the EMQX listing (it has no filters). */
const FILES_LISTING = 'emqx-files';
/** EMQX names the node a file is on; mqft's storage is shared, so the node is any name. */
export const EMQX_NODE = 'mqft@control';

/** A stored file as EMQX 5's /api/v5/file_transfer/files shows it. */
export interface EmqxFile {
  clientid: string;
  fileid: string;
  name: string;
  size: number;
  /** When the file was stored, RFC 3339 to the second. */
  timestamp: string;
  /** Where to download it: this API's /file_transfer/file, or an S3 presigned URL. */
  uri: string;
  /** The init's filemeta as the device sent it. */
  metadata?: unknown;
}

const filesNotFound = () =>
  notFound('Files requested for this transfer could not be found', 'FILES_NOT_FOUND');

/**
 * EMQX 5's file-transfer API, same paths, parameters, status codes and JSON, so that scripts
 * written for EMQX work by changing the base URL. Files are the complete transfers whose file
 * was not deleted, in the order of the created index.
 */
export function emqxRoutes(deps: HttpDeps): Route[] {
  const { ctx } = deps;
  return [
    {
      method: 'GET',
      template: '/api/v5/file_transfer/files',
      async handle({ res, query, scope }) {
        const limit = integerOf(query, 'limit') ?? EMQX_DEFAULT_LIMIT;
        if (limit < 1 || limit > EMQX_MAX_LIMIT)
          throw badRequest(`limit must be between 1 and ${EMQX_MAX_LIMIT}`);
        const following = query.get('following');
        let after: IndexCursor | undefined;
        if (following !== null) {
          try {
            after = decodePageToken(following, FILES_LISTING);
          } catch {
            throw badRequest('Invalid cursor');
          }
        }
        await requireState(ctx);
        const files: EmqxFile[] = [];
        let scanned = 0;
        for (;;) {
          requireTime(scope);
          const batch = Math.min(EMQX_MAX_LIMIT, Math.max(limit, 250));
          const scan = await ctx.queries.scanCreated({ after, limit: batch });
          for (const [i, entry] of scan.entries.entries()) {
            if (!isStoredFile(entry.record)) continue;
            files.push(await emqxFile(ctx, entry.record));
            if (files.length === limit) {
              const last = scan.done && i === scan.entries.length - 1;
              const cursor = { score: entry.score, key: entry.record.key };
              return sendJson(res, 200, page(files, last ? undefined : cursor));
            }
          }
          after = scan.cursor;
          scanned += batch;
          if (scan.done) return sendJson(res, 200, page(files, undefined));
          if (scanned >= SCAN_BUDGET) return sendJson(res, 200, page(files, after));
        }
      },
    },
    {
      method: 'GET',
      template: '/api/v5/file_transfer/files/{clientid}/{fileid}',
      async handle({ res, params }) {
        const id = requireTransferId({
          clientId: params.clientid ?? '',
          fileId: params.fileid ?? '',
        });
        await requireState(ctx);
        const record = await ctx.queries.get(id.key);
        if (record === undefined || !isStoredFile(record)) throw filesNotFound();
        const ref = { clientId: record.clientId, fileId: record.fileId, name: record.name ?? '' };
        if (!(await ctx.storage.stat(ref))) throw filesNotFound();
        sendJson(res, 200, { files: [await emqxFile(ctx, record)] });
      },
    },
    {
      method: 'GET',
      template: '/api/v5/file_transfer/file',
      async handle(request) {
        const fileref = request.query.get('fileref');
        if (fileref === null) throw badRequest('fileref is required');
        const id = parseTransferKey(fileref);
        if (id === undefined)
          throw notFound(`Invalid query parameter: ${fileref.slice(0, 128)}`, 'NOT_FOUND');
        try {
          await sendStoredFile(ctx, id, request);
        } catch (err) {
          // EMQX knows only stored files: anything else is "Not found" there.
          if (
            err instanceof RpcError &&
            [status.NOT_FOUND, status.FAILED_PRECONDITION].includes(err.code)
          )
            throw new HttpError(404, 'NOT_FOUND', 'Not found');
          throw err;
        }
      },
    },
  ];

  function page(files: EmqxFile[], cursor: IndexCursor | undefined) {
    return cursor === undefined
      ? { files }
      : { files, cursor: encodePageToken(cursor, FILES_LISTING) };
  }
}

function isStoredFile(record: TransferRecord): boolean {
  return record.state === 'complete' && record.deletedAt === undefined && record.name !== undefined;
}

async function emqxFile(ctx: ControlContext, record: TransferRecord): Promise<EmqxFile> {
  const ref = { clientId: record.clientId, fileId: record.fileId, name: record.name ?? '' };
  const uri =
    ctx.storage.kind === 's3'
      ? await ctx.storage.downloadUrl(ref, urlTtlSeconds(ctx))
      : `/api/v5/file_transfer/file?${new URLSearchParams({ node: EMQX_NODE, fileref: record.key }).toString()}`;
  const file: EmqxFile = {
    clientid: record.clientId,
    fileid: record.fileId,
    name: record.name ?? '',
    size: record.size ?? record.finSize ?? 0,
    timestamp: secondsRfc3339(record.completedAt ?? record.updatedAt ?? ctx.now()),
    uri,
  };
  const metadata = parseFilemeta(record.filemeta);
  if (metadata !== undefined) file.metadata = metadata;
  return file;
}

function urlTtlSeconds(ctx: ControlContext): number {
  return Math.max(1, Math.floor(Math.min(ctx.settings.downloadUrlTtlMs, MAX_URL_TTL_MS) / 1000));
}

function secondsRfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

function parseFilemeta(filemeta: string | undefined): unknown {
  if (filemeta === undefined || filemeta === '') return undefined;
  try {
    return JSON.parse(filemeta) as unknown;
  } catch {
    return undefined;
  }
}
