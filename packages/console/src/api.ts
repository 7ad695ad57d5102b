import { listPath, storedFilePath, transferPath, eventsPath } from './paths.js';
import { SseParser } from './sse.js';
import type { Transfer, TransferFilter } from './transfer.js';

/** An answer of the API other than success: its status and `{code, message}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  get unauthorized(): boolean {
    return this.status === 401;
  }
}

export interface TransferPage {
  transfers: Transfer[];
  next_page_token?: string;
}

/**
 * The HTTP API, with the session's token in every request's Authorization header. The
 * routes sit beside the console (`/console/` → `/api/…`), so a path prefix of a reverse proxy
 * is kept.
 */
export class Api {
  constructor(readonly token: string) {}

  private url(path: string): string {
    return new URL(`../${path}`, document.baseURI).href;
  }

  private headers(): Record<string, string> {
    return this.token === '' ? {} : { authorization: `Bearer ${this.token}` };
  }

  private async send(path: string, init: RequestInit = {}): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(this.url(path), { ...init, headers: this.headers(), cache: 'no-store' });
    } catch (err) {
      throw new ApiError(0, 'UNREACHABLE', `control cannot be reached (${String(err)})`);
    }
    if (res.ok || res.type === 'opaqueredirect') return res;
    throw await errorOf(res);
  }

  private async json<T>(path: string, init?: RequestInit): Promise<T> {
    return (await (await this.send(path, init)).json()) as T;
  }

  list(filter: TransferFilter, limit: number, pageToken: string): Promise<TransferPage> {
    return this.json(listPath(filter, limit, pageToken));
  }

  abort(t: Transfer): Promise<Transfer> {
    return this.json(transferPath(t.client_id, t.file_id, '/abort'), { method: 'POST' });
  }

  /**
   * The stored file: the file backend streams it (read into a blob, since a plain link cannot
   * carry the token); S3 answers a redirect to a presigned URL, which needs no token.
   */
  async download(t: Transfer): Promise<{ blob: Blob } | { url: string }> {
    const res = await this.send(transferPath(t.client_id, t.file_id, '/content'), {
      redirect: 'manual',
    });
    if (res.type !== 'opaqueredirect') return { blob: await res.blob() };
    const stored = await this.json<{ files: { uri: string }[] }>(
      storedFilePath(t.client_id, t.file_id),
    );
    const uri = stored.files[0]?.uri;
    if (uri === undefined) throw new ApiError(404, 'FILES_NOT_FOUND', 'the file is not stored');
    return { url: uri };
  }

  /**
   * Reads GET /api/v1/events until it ends or `signal` aborts; `onReady` once the server is
   * subscribed. Resolves with the reconnection delay the server asked for.
   */
  async events(
    filter: TransferFilter,
    signal: AbortSignal,
    handlers: { onReady(): void; onTransfer(t: Transfer): void },
  ): Promise<number | undefined> {
    const res = await this.send(eventsPath(filter), { signal });
    if (!res.body) return undefined;
    const parser = new SseParser();
    const decoder = new TextDecoder();
    const reader = res.body.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const event of parser.push(decoder.decode(value, { stream: true }))) {
          if (event.event === 'ready') handlers.onReady();
          else if (event.event === 'transfer')
            handlers.onTransfer(JSON.parse(event.data) as Transfer);
          // `event: error` comes before the server ends the stream: the end is what counts.
        }
      }
    } finally {
      reader.releaseLock();
    }
    return parser.retryMs;
  }
}

async function errorOf(res: Response): Promise<ApiError> {
  const body = (await res.json().catch(() => undefined)) as
    { code?: unknown; message?: unknown } | undefined;
  const code = typeof body?.code === 'string' ? body.code : `HTTP_${res.status}`;
  const message = typeof body?.message === 'string' ? body.message : res.statusText;
  return new ApiError(res.status, code, message);
}
