import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { storageRelativeKey } from '@mqft/protocol';
import { isNotFound, toStorageError } from './errors.js';
import { TempFileUpload } from './file-upload.js';
import { parseFilemeta } from './filemeta.js';
import {
  StorageError,
  type FileUpload,
  type StorageBackend,
  type StoredFileRef,
  type StoredFileTarget,
} from './storage.js';

// `%` is always escaped in key components (as %25), so no device's directory can be named this.
const TEMP_DIR = '%tmp';
const MANIFEST_SUFFIX = '.MANIFEST.json';
// NAME_MAX of Linux file systems (ext4, xfs, tmpfs): bytes in one path component.
const MAX_COMPONENT_BYTES = 255;
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
/**
 * Upload ids name files in TEMP_DIR: `<target digest>-<uuid>.part` (the digest lets
 * abortUnfinished() find every temp file of a target, as S3's ListMultipartUploads finds the
 * uploads of a key), or `<uuid>.part` as recorded by earlier versions. Anything else must never
 * reach unlink().
 */
const UPLOAD_ID_PATTERN = new RegExp(`^(?:[0-9a-f]{64}-)?${UUID}\\.part$`);
/** A temp file of a target: its data (`.part`) or its sidecar's (`.manifest`). */
const TARGET_TEMP_PATTERN = new RegExp(`^[0-9a-f]{64}-${UUID}\\.(?:part|manifest)$`);

/** The sidecar EMQX's local exporter keeps next to each file, plus what mqft verified. */
interface Manifest {
  clientid: string;
  fileid: string;
  filemeta: unknown;
  'filemeta-vsn': 1;
  size: number;
  sha256: string;
}

/**
 * Files in a local directory, laid out as `<root>/<esc(clientId)>/<esc(fileId)>/<name>` with
 * a `<name>.MANIFEST.json` sidecar. Data is written to `<root>/%tmp/`, synced and renamed into
 * place, so a reader sees either nothing or the whole verified file.
 */
export class FileStorage implements StorageBackend {
  readonly kind = 'file' as const;
  readonly root: string;
  private readonly tempDir: string;

  constructor(root: string) {
    this.root = resolve(root);
    this.tempDir = join(this.root, TEMP_DIR);
  }

  keyProblem(target: StoredFileRef): string | undefined {
    const components = storageRelativeKey(target.clientId, target.fileId, target.name).split('/');
    components[components.length - 1] += MANIFEST_SUFFIX;
    const labels = ['clientId', 'fileId', 'name'];
    for (const [i, component] of components.entries()) {
      const bytes = Buffer.byteLength(component);
      if (bytes > MAX_COMPONENT_BYTES) {
        return `the escaped ${labels[i] ?? 'name'} is ${bytes} bytes as a path component (at most ${MAX_COMPONENT_BYTES})`;
      }
    }
    return undefined;
  }

  async begin(target: StoredFileTarget): Promise<FileUpload> {
    const finalPath = this.pathOf(target);
    const filemeta = parseFilemeta(target.filemetaJson);
    try {
      await mkdir(this.tempDir, { recursive: true });
      const uploadId = `${this.tempPrefixOf(target)}${randomUUID()}.part`;
      const tempPath = join(this.tempDir, uploadId);
      const handle = await open(tempPath, 'wx');
      const location = pathToFileURL(finalPath).href;
      const publish = async (path: string, content: { size: number; sha256: string }) => {
        const manifest: Manifest = {
          clientid: target.clientId,
          fileid: target.fileId,
          filemeta,
          'filemeta-vsn': 1,
          ...content,
        };
        await this.publish(path, finalPath, manifest, manifestTempOf(uploadId));
        return location;
      };
      return new TempFileUpload(uploadId, handle, tempPath, publish, location);
    } catch (err) {
      throw toStorageError(err, `begin ${finalPath}`);
    }
  }

  /**
   * Removes a predecessor's temporary files of this target: the upload named by `uploadId`
   * and every other temp file (data or sidecar) named after the target — a writer killed
   * after begin() but before its upload id was recorded leaves one nobody knows the id of
   * (test/chaos, assembler-kill).
   */
  async abortUnfinished(
    target: StoredFileRef,
    uploadId?: string,
    _plannedSize?: number,
  ): Promise<void> {
    if (uploadId !== undefined) {
      if (!UPLOAD_ID_PATTERN.test(uploadId)) {
        throw new StorageError(
          `not an upload id of the file backend: ${JSON.stringify(uploadId)}`,
          { code: 'invalid_target' },
        );
      }
      await this.removeIfPresent(join(this.tempDir, uploadId), 'abort');
      // A writer killed while publishing leaves its sidecar's temp file too (test/chaos).
      await this.removeIfPresent(join(this.tempDir, manifestTempOf(uploadId)), 'abort');
    }
    const prefix = this.tempPrefixOf(target);
    let names: string[];
    try {
      names = await readdir(this.tempDir);
    } catch (err) {
      if (isNotFound(err)) return;
      throw toStorageError(err, `abort: list ${this.tempDir}`);
    }
    for (const name of names) {
      if (name.startsWith(prefix) && TARGET_TEMP_PATTERN.test(name)) {
        await this.removeIfPresent(join(this.tempDir, name), 'abort');
      }
    }
  }

  locate(target: StoredFileRef): string {
    return pathToFileURL(this.pathOf(target)).href;
  }

  async stat(
    target: StoredFileRef,
  ): Promise<{ size: number; metadata: Record<string, string> } | undefined> {
    const path = this.pathOf(target);
    try {
      const info = await stat(path);
      return { size: info.size, metadata: await readManifestMetadata(path + MANIFEST_SUFFIX) };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw toStorageError(err, `stat ${path}`);
    }
  }

  async read(target: StoredFileRef): Promise<NodeJS.ReadableStream> {
    const path = this.pathOf(target);
    try {
      // Opening first turns a missing file into an error here, not a later stream event.
      const handle = await open(path, 'r');
      return handle.createReadStream();
    } catch (err) {
      if (isNotFound(err)) throw notFound(path, err);
      throw toStorageError(err, `read ${path}`);
    }
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- async: a bad key rejects, not throws
  async downloadUrl(target: StoredFileRef, _expiresInSeconds: number): Promise<string> {
    return this.locate(target);
  }

  async delete(target: StoredFileRef): Promise<void> {
    const path = this.pathOf(target);
    // Data first: once it is gone the file is invisible, whatever happens to the sidecar.
    // Empty directories stay: removing them would race with a concurrent complete().
    await this.removeIfPresent(path, 'delete');
    await this.removeIfPresent(path + MANIFEST_SUFFIX, 'delete');
  }

  async close(): Promise<void> {}

  /**
   * How the names of a target's temp files begin: the hex SHA-256 of its relative key (a
   * digest, because the key itself may be up to 3 × 255 bytes and contain `/`).
   */
  private tempPrefixOf(target: StoredFileRef): string {
    const relativeKey = storageRelativeKey(target.clientId, target.fileId, target.name);
    return `${createHash('sha256').update(relativeKey).digest('hex')}-`;
  }

  /** The final path of a file; throws if it would not be exactly three levels under root. */
  private pathOf(target: StoredFileRef): string {
    const relativeKey = storageRelativeKey(target.clientId, target.fileId, target.name);
    const path = resolve(this.root, relativeKey);
    const fromRoot = relative(this.root, path);
    // Escaping already guarantees this; a bug there must not write outside the root.
    const outside = fromRoot === '..' || fromRoot.startsWith(`..${sep}`) || isAbsolute(fromRoot);
    if (outside || fromRoot.split(sep).length !== 3) {
      throw new StorageError(
        `storage key ${JSON.stringify(relativeKey)} does not stay under ${this.root}`,
        { code: 'invalid_target' },
      );
    }
    return path;
  }

  /** Sidecar first, then data, then the directory entries to disk. */
  private async publish(
    tempPath: string,
    finalPath: string,
    manifest: Manifest,
    manifestTemp: string,
  ): Promise<void> {
    const dir = dirname(finalPath);
    const firstCreated = await mkdir(dir, { recursive: true });
    await this.writeAtomically(
      finalPath + MANIFEST_SUFFIX,
      JSON.stringify(manifest, null, 2),
      join(this.tempDir, manifestTemp),
    );
    await rename(tempPath, finalPath);
    // New directories are durable only once their parents are synced too.
    const dirs = firstCreated === undefined ? [dir] : [dir, dirname(dir), this.root];
    for (const d of dirs) await syncDirectory(d);
  }

  private async writeAtomically(path: string, text: string, tempPath: string): Promise<void> {
    // Named after the upload, so abortUnfinished() finds what a killed writer left.
    const handle = await open(tempPath, 'w');
    try {
      try {
        await handle.writeFile(text, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tempPath, path);
    } catch (err) {
      await unlink(tempPath).catch(() => undefined);
      throw err;
    }
  }

  private async removeIfPresent(path: string, operation: string): Promise<void> {
    try {
      await unlink(path);
    } catch (err) {
      if (!isNotFound(err)) throw toStorageError(err, `${operation} ${path}`);
    }
  }
}

/** The sidecar's temp file of an upload: `<id>.manifest` for `<id>.part`. */
function manifestTempOf(uploadId: string): string {
  return uploadId.replace(/\.part$/, '.manifest');
}

async function syncDirectory(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * The same keys S3 carries as x-amz-meta-*, plus size and sha256, all as strings; empty for a
 * file placed there by hand, without a sidecar.
 */
async function readManifestMetadata(path: string): Promise<Record<string, string>> {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(path, 'utf8')) as Manifest;
  } catch (err) {
    if (isNotFound(err)) return {};
    throw err;
  }
  return {
    clientid: manifest.clientid,
    fileid: manifest.fileid,
    filemeta: JSON.stringify(manifest.filemeta),
    'filemeta-vsn': String(manifest['filemeta-vsn']),
    size: String(manifest.size),
    sha256: manifest.sha256,
  };
}

function notFound(path: string, cause: unknown): StorageError {
  return new StorageError(`no stored file at ${path}`, { code: 'not_found', cause });
}
