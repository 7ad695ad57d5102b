// The s3rver child process of startS3rver(): s3rver 3.7.1 (the npm package) plus what mqft
// needs from S3 and s3rver lacks.
//
// s3rver 3.7.1 has no AbortMultipartUpload nor ListMultipartUploads: `DELETE /bucket/key?uploadId=…` answers 405
// (jamhall/s3rver#784, open since 2021). And it accepts UploadPart for an unknown or aborted
// upload id (it just creates the directory), so a fenced-off writer would not notice. Real
// S3 answers both with NoSuchUpload; this wrapper does the same.
//
// usage: node s3rver-main.mjs <directory> <address> <port> [--silent]
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const S3rver = require('s3rver');
const S3Error = require('s3rver/lib/models/error');

const [directory, address, port, ...flags] = process.argv.slice(2);
if (!directory || !address || !port) {
  console.error('usage: s3rver-main.mjs <directory> <address> <port> [--silent]');
  process.exit(2);
}

/** Path-style only (the server runs with vhostBuckets off): /bucket/key… */
function bucketAndKey(ctx) {
  const [, bucket = '', ...key] = ctx.path.split('/');
  return { bucket: decodeURIComponent(bucket), key: decodeURIComponent(key.join('/')) };
}

async function readUploadKey(store, bucket, uploadId) {
  if (!/^[0-9a-f]+$/.test(uploadId)) return undefined;
  const uploadDir = path.join(store.getResourcePath(bucket, undefined, 'uploads'), uploadId);
  try {
    return { uploadDir, key: await fs.readFile(path.join(uploadDir, 'key'), 'utf8') };
  } catch {
    return undefined;
  }
}

const xmlEscape = (text) => text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * ListMultipartUploads (`GET /bucket?uploads&prefix=…`), one page: without it an upload whose
 * CreateMultipartUpload response was lost (s3rver killed mid-request) could never be found
 * and aborted, as mqft's abortUnfinished does on real S3 (test/chaos, storage-outage).
 */
async function listUploads(store, ctx) {
  const { bucket } = bucketAndKey(ctx);
  const prefix = typeof ctx.query.prefix === 'string' ? ctx.query.prefix : '';
  const dir = store.getResourcePath(bucket, undefined, 'uploads');
  const ids = await fs.readdir(dir).catch(() => []);
  const uploads = [];
  for (const id of ids.sort()) {
    const upload = await readUploadKey(store, bucket, id);
    if (!upload || !upload.key.startsWith(prefix)) continue;
    const initiated = (await fs.stat(upload.uploadDir)).mtime.toISOString();
    uploads.push(
      `<Upload><Key>${xmlEscape(upload.key)}</Key><UploadId>${id}</UploadId>` +
        `<Initiated>${initiated}</Initiated><StorageClass>STANDARD</StorageClass></Upload>`,
    );
  }
  ctx.type = 'application/xml';
  ctx.body =
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
    `<Bucket>${xmlEscape(bucket)}</Bucket><Prefix>${xmlEscape(prefix)}</Prefix>` +
    '<MaxUploads>10000</MaxUploads><IsTruncated>false</IsTruncated>' +
    `${uploads.join('')}</ListMultipartUploadsResult>`;
}

/**
 * NoSuchUpload for unknown upload ids, AbortMultipartUpload and ListMultipartUploads. Runs
 * before s3rver's routes.
 */
function multipartUploads(store) {
  return async (ctx, next) => {
    if (ctx.method === 'GET' && 'uploads' in ctx.query && bucketAndKey(ctx).key === '') {
      return listUploads(store, ctx);
    }
    const uploadId = ctx.query.uploadId;
    if (typeof uploadId !== 'string') return next();
    const { bucket, key } = bucketAndKey(ctx);
    const upload = await readUploadKey(store, bucket, uploadId);
    if (!upload || upload.key !== key) {
      throw new S3Error('NoSuchUpload', 'The specified upload does not exist.', {
        UploadId: uploadId,
      });
    }
    if (ctx.method !== 'DELETE') return next();
    await fs.rm(upload.uploadDir, { recursive: true, force: true });
    ctx.logger.info('Aborted upload %s of "%s" in bucket "%s"', uploadId, key, bucket);
    ctx.status = 204;
  };
}

await fs.mkdir(directory, { recursive: true });
const server = new S3rver({
  directory,
  address,
  port: Number(port),
  silent: flags.includes('--silent'),
  vhostBuckets: false,
});
// Just before s3rver's router (its last middleware), after its logging and error handling.
server.middleware.splice(server.middleware.length - 1, 0, multipartUploads(server.store));
const { address: boundAddress, port: boundPort } = await server.run();
console.log('S3rver listening on %s:%d', boundAddress, boundPort);
