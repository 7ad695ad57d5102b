import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { StorageError } from '@mqft/storage';
import type { ControlContext } from '../context.js';
import { notFound } from '../errors.js';
import { requireTransferId } from '../rpc/common.js';
import { getDownloadUrl } from '../rpc/get-download-url.js';
import { attachment } from './respond.js';
import type { HttpRequest } from './router.js';

/**
 * The stored file of a complete transfer: S3 answers 302 to a presigned GET (the bytes do not
 * pass through control), the file backend streams the bytes as an attachment. The checks
 * (complete, still in storage) are GetDownloadUrl's.
 */
export async function sendStoredFile(
  ctx: ControlContext,
  request: { clientId: string; fileId: string },
  { req, res, scope }: HttpRequest,
): Promise<void> {
  const id = requireTransferId(request);
  const { url } = await getDownloadUrl(ctx, { ...request, ttl: undefined }, scope);
  if (ctx.storage.kind === 's3') {
    res.writeHead(302, { location: url, 'cache-control': 'no-store' });
    res.end();
    return;
  }
  const record = await ctx.queries.get(id.key);
  if (record?.name === undefined) throw notFound('the transfer is gone');
  const ref = { clientId: id.clientId, fileId: id.fileId, name: record.name };
  let body: Readable;
  let size: number | undefined;
  try {
    size = (await ctx.storage.stat(ref))?.size;
    body = (await ctx.storage.read(ref)) as Readable;
  } catch (err) {
    if (err instanceof StorageError && err.code === 'not_found')
      throw notFound('the file is no longer in storage');
    throw err;
  }
  const headers: Record<string, string | number> = {
    'content-type': 'application/octet-stream',
    'content-disposition': attachment(record.name),
    'cache-control': 'no-store',
  };
  if (size !== undefined) headers['content-length'] = size;
  if (record.checksum) headers['x-checksum-sha256'] = record.checksum;
  res.writeHead(200, headers);
  if (req.method === 'HEAD') {
    body.destroy();
    res.end();
    return;
  }
  await pipeline(body, res);
}
