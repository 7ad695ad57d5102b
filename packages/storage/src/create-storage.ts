import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { FileStorage } from './file.js';
import { S3Storage } from './s3.js';
import { StorageError, type StorageBackend, type StorageOptions } from './storage.js';

const ACCEPTED_FORMS =
  'file:///abs/dir, file://./rel/dir (relative to the working directory) or ' +
  's3://bucket/optional/prefix?endpoint=http://host:port&region=us-east-1&forcePathStyle=true';
const S3_PARAMETERS = new Set(['endpoint', 'region', 'forcePathStyle']);

function invalid(url: string, why: string): StorageError {
  return new StorageError(
    `MQFT_STORAGE=${JSON.stringify(url)} is invalid: ${why}. Accepted forms: ${ACCEPTED_FORMS}`,
    { code: 'invalid_config' },
  );
}

/**
 * The storage backend named by a `MQFT_STORAGE` URL. S3 credentials come from the AWS SDK's
 * default chain (AWS_ACCESS_KEY_ID, profiles, instance roles) unless options.s3 gives them.
 */
export function createStorage(url: string, options: StorageOptions = {}): StorageBackend {
  if (url.startsWith('file:')) return new FileStorage(fileStorageRoot(url));
  if (url.startsWith('s3:')) {
    const { bucket, prefix, clientConfig } = parseS3Url(url);
    return new S3Storage({
      client: new S3Client({ ...clientConfig, ...options.s3 }),
      bucket,
      prefix,
      partSize: options.partSize,
      partConcurrency: options.partConcurrency,
    });
  }
  throw invalid(url, 'unknown scheme');
}

/** The absolute directory of a `file://` storage URL. */
export function fileStorageRoot(url: string): string {
  if (!url.startsWith('file://')) throw invalid(url, 'a file URL starts with file://');
  const rest = url.slice('file://'.length);
  if (/[?#]/.test(rest)) throw invalid(url, 'a file URL takes no query or fragment');
  try {
    if (rest === '.' || rest.startsWith('./') || rest.startsWith('../')) {
      return resolve(process.cwd(), decodeURIComponent(rest));
    }
    if (rest.startsWith('/')) return fileURLToPath(url);
  } catch (err) {
    throw invalid(url, err instanceof Error ? err.message : String(err));
  }
  throw invalid(url, 'the directory must be absolute (file:///…) or start with ./ or ../');
}

/** Bucket, key prefix and client configuration of an `s3://` storage URL. */
export function parseS3Url(url: string): {
  bucket: string;
  prefix: string;
  clientConfig: S3ClientConfig;
} {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid(url, 'not a URL');
  }
  const bucket = parsed.hostname;
  if (bucket === '') throw invalid(url, 'no bucket');
  if (parsed.username || parsed.password || parsed.port) {
    throw invalid(url, 'credentials and ports do not belong in the bucket part');
  }
  for (const name of parsed.searchParams.keys()) {
    if (!S3_PARAMETERS.has(name)) throw invalid(url, `unknown parameter ${JSON.stringify(name)}`);
  }
  let prefix: string;
  try {
    prefix = decodeURIComponent(parsed.pathname).replace(/^\/+|\/+$/g, '');
  } catch {
    throw invalid(url, 'malformed percent-encoding in the prefix');
  }
  return { bucket, prefix, clientConfig: s3ClientConfig(url, parsed.searchParams) };
}

function s3ClientConfig(url: string, params: URLSearchParams): S3ClientConfig {
  // Both default to WHEN_SUPPORTED in current SDKs, which sends CRC32 trailers that older
  // and S3-compatible servers reject; WHEN_REQUIRED is what AWS itself needs.
  const config: S3ClientConfig = {
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
  const endpoint = params.get('endpoint');
  if (endpoint !== null) {
    if (!/^https?:\/\/[^/]/.test(endpoint)) throw invalid(url, 'endpoint must be an http(s) URL');
    config.endpoint = endpoint;
  }
  const region = params.get('region');
  if (region !== null) {
    if (region === '') throw invalid(url, 'region is empty');
    config.region = region;
  }
  const forcePathStyle = params.get('forcePathStyle');
  if (forcePathStyle !== null) {
    if (forcePathStyle !== 'true' && forcePathStyle !== 'false') {
      throw invalid(url, 'forcePathStyle must be true or false');
    }
    config.forcePathStyle = forcePathStyle === 'true';
  }
  return config;
}
