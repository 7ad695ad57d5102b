import { createHash } from 'node:crypto';
import type { StorageBackend } from '@mqft/storage';
import { OpenApiClient } from '@mqft/test-support';
import type { Harness } from './harness.js';

export const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Stores `bytes` as (clientId, fileId)'s file, named as the harness names it; its location. */
export async function storeFile(
  storage: StorageBackend,
  clientId: string,
  fileId: string,
  bytes: Buffer,
  options: { name?: string } = {},
): Promise<string> {
  const name = options.name ?? `${fileId}.bin`;
  const upload = await storage.begin({
    clientId,
    fileId,
    name,
    filemetaJson: JSON.stringify({ name }),
  });
  await upload.write(bytes);
  const done = await upload.complete({ size: bytes.length, sha256: sha256(bytes) });
  return done.location;
}

/** {@link storeFile}, and the transfer seeded complete with its location. */
export async function storeComplete(
  h: Harness,
  storage: StorageBackend,
  clientId: string,
  fileId: string,
  bytes: Buffer,
  options: { name?: string } = {},
): Promise<string> {
  const location = await storeFile(storage, clientId, fileId, bytes, options);
  await h.seedComplete(clientId, fileId, bytes, { location });
  return location;
}

/** The HTTP API of the harness's control, every response checked against its OpenAPI document. */
export function apiClient(h: Harness): Promise<OpenApiClient> {
  const headers: Record<string, string> = h.token ? { authorization: `Bearer ${h.token}` } : {};
  return OpenApiClient.fetch(h.httpUrl, '/api/v1/openapi.json', headers);
}

export interface SseEvent {
  event: string;
  data: string;
}

/** A Server-Sent Events stream read as it arrives (comments kept, for heartbeats). */
export class SseStream {
  readonly events: SseEvent[] = [];
  comments = 0;
  ended = false;
  status = 0;
  private readonly controller = new AbortController();

  static async open(url: string, headers: Record<string, string>): Promise<SseStream> {
    const stream = new SseStream();
    const res = await fetch(url, { headers, signal: stream.controller.signal });
    stream.status = res.status;
    if (res.body) void stream.read(res.body);
    else stream.ended = true;
    return stream;
  }

  of(event: string): unknown[] {
    return this.events.filter((e) => e.event === event).map((e) => JSON.parse(e.data) as unknown);
  }

  close(): void {
    this.controller.abort();
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of body) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          this.parse(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch {
      // closed by us
    }
    this.ended = true;
  }

  private parse(block: string): void {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) this.comments++;
      else if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('data: ')) data.push(line.slice(6));
    }
    if (data.length > 0) this.events.push({ event, data: data.join('\n') });
  }
}
