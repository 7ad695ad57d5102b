// The s3rver child process of startS3rver(): s3rver 3.7.1 (the npm package) plus what mqft
// needs from S3 and s3rver lacks.
//
// s3rver 3.7.1 has no AbortMultipartUpload: `DELETE /bucket/key?uploadId=…` answers 405
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

/** NoSuchUpload for unknown upload ids, and AbortMultipartUpload. Runs before s3rver's routes. */
function multipartUploads(store) {
  return async (ctx, next) => {
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
