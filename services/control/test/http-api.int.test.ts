import { randomBytes } from 'node:crypto';
import { ANONYMOUS_CLIENT_ID, transferKey } from '@mqft/protocol';
import { createStorage, type StorageBackend } from '@mqft/storage';
import { commandSubject, decodeCommandHeaders } from '@mqft/stream';
import { waitFor, type OpenApiClient } from '@mqft/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from './harness.js';
import { apiClient, sha256, SseStream, storeComplete } from './http-support.js';

const FILES = '/api/v5/file_transfer/files';
const FILE_OF = '/api/v5/file_transfer/files/{clientid}/{fileid}';
const DOWNLOAD = '/api/v5/file_transfer/file';
const TRANSFERS = '/api/v1/transfers';
const TRANSFER = '/api/v1/transfers/{clientId}/{fileId}';

/** The fields of a file in EMQX 5's listing (emqx_ft_api: format_file_info/1). */
const EMQX_FILE_FIELDS = ['clientid', 'fileid', 'metadata', 'name', 'size', 'timestamp', 'uri'];

interface EmqxFile {
  clientid: string;
  fileid: string;
  name: string;
  size: number;
  timestamp: string;
  uri: string;
  metadata: Record<string, unknown>;
}
interface EmqxPage {
  files: EmqxFile[];
  cursor?: string;
}

describe('HTTP API over the file storage', () => {
  let h: Harness;
  let api: OpenApiClient;
  let storage: StorageBackend;
  /** What was stored, by "clientId/fileId". */
  const stored = new Map<string, Buffer>();
  // Names that need escaping in a path segment and in a query, and the anonymous namespace.
  const ids: [string, string][] = [
    ['emqx-dev', 'f-1'],
    ['emqx-dev', 'f-2'],
    ['other dev/ü?#%', 'a b?c&d=e#%'],
    [ANONYMOUS_CLIENT_ID, 'anon-file'],
    ['emqx-dev', 'f-3'],
  ];

  beforeAll(async () => {
    h = await Harness.start({ tokens: ['http-token'], env: { MQFT_ABORT_WAIT: '1500ms' } });
    storage = createStorage(`file://${h.dataDir}`);
    api = await apiClient(h);
    for (const [clientId, fileId] of ids) {
      const bytes = randomBytes(10_000 + stored.size);
      await storeComplete(h, storage, clientId, fileId, bytes);
      stored.set(`${clientId}/${fileId}`, bytes);
    }
    await h.seedReceiving('emqx-dev', 'in-flight', { bytes: 10 });
  });
  afterAll(async () => {
    await storage?.close();
    await h?.close();
  });

  const ok = <T>(response: { status: number; body: unknown; problems: string[] }, status = 200) => {
    expect(response.problems).toEqual([]);
    expect(response.status).toBe(status);
    return response.body as T;
  };

  it('EMQX: GET /api/v5/file_transfer/files pages with `following` through every stored file, once', async () => {
    const seen: EmqxFile[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const query: Record<string, string> = { limit: '2' };
      if (cursor !== undefined) query.following = cursor;
      const page = ok<EmqxPage>(await api.request('GET', FILES, { query }));
      expect(page.files.length).toBeLessThanOrEqual(2);
      seen.push(...page.files);
      cursor = page.cursor;
      pages++;
    } while (cursor !== undefined);
    expect(pages).toBe(3);
    expect(seen.map((f) => `${f.clientid}/${f.fileid}`).sort()).toEqual([...stored.keys()].sort());
    for (const file of seen) {
      expect(Object.keys(file).sort()).toEqual(EMQX_FILE_FIELDS);
      const bytes = stored.get(`${file.clientid}/${file.fileid}`) as Buffer;
      expect(file.name).toBe(`${file.fileid}.bin`);
      expect(file.size).toBe(bytes.length);
      expect(file.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(Math.abs(Date.parse(file.timestamp) - Date.now())).toBeLessThan(60_000);
      expect(file.metadata).toEqual({ name: file.name, size: 100 });
      expect(file.uri).toMatch(/^\/api\/v5\/file_transfer\/file\?node=[^&]+&fileref=/);
    }
    // Without a limit: EMQX's default page of 100 holds them all, and no cursor.
    const all = ok<EmqxPage>(await api.request('GET', FILES));
    expect(all.files).toHaveLength(stored.size);
    expect(all.cursor).toBeUndefined();
  });

  it('EMQX: a bad cursor is 400 {"code":"BAD_REQUEST","message":"Invalid cursor"}', async () => {
    for (const following of ['garbage', 'eyJ2IjoxfQ', '']) {
      const res = await api.request('GET', FILES, { query: { following } });
      expect(ok(res, 400)).toEqual({ code: 'BAD_REQUEST', message: 'Invalid cursor' });
    }
    // A page token of another listing is no cursor here.
    const other = ok<{ next_page_token: string }>(
      await api.request('GET', TRANSFERS, { query: { limit: '1' } }),
    );
    const res = await api.request('GET', FILES, { query: { following: other.next_page_token } });
    expect(ok(res, 400)).toEqual({ code: 'BAD_REQUEST', message: 'Invalid cursor' });
  });

  it("EMQX: GET …/files/{clientid}/{fileid} is that transfer's file; none → 404 FILES_NOT_FOUND", async () => {
    const listed = ok<EmqxPage>(await api.request('GET', FILES)).files;
    for (const [clientid, fileid] of ids) {
      const page = ok<EmqxPage>(
        await api.request('GET', FILE_OF, { params: { clientid, fileid } }),
      );
      expect(page.cursor).toBeUndefined();
      expect(page.files).toEqual(
        listed.filter((f) => f.clientid === clientid && f.fileid === fileid),
      );
    }
    for (const [clientid, fileid] of [
      ['emqx-dev', 'nope'],
      ['emqx-dev', 'in-flight'],
    ] as const) {
      const res = await api.request('GET', FILE_OF, { params: { clientid, fileid } });
      const body = ok<{ code: string; message: string }>(res, 404);
      expect(body.code).toBe('FILES_NOT_FOUND');
      expect(body.message).not.toBe('');
    }
  });

  it('EMQX: the `uri` downloads the bytes (content-disposition: attachment), escaping and anonymous included', async () => {
    const listed = ok<EmqxPage>(await api.request('GET', FILES)).files;
    for (const file of listed) {
      const res = await fetch(`${h.httpUrl}${file.uri}`, {
        headers: { authorization: 'Basic ' + Buffer.from('api-key:http-token').toString('base64') },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-disposition')).toMatch(/^attachment/);
      const bytes = Buffer.from(await res.arrayBuffer());
      expect(sha256(bytes)).toBe(sha256(stored.get(`${file.clientid}/${file.fileid}`) as Buffer));
    }
    const missing = await api.request('GET', DOWNLOAD, {
      query: { fileref: transferKey({ clientId: 'emqx-dev', fileId: 'in-flight' }) },
    });
    expect(ok<{ code: string }>(missing, 404).code).toBe('NOT_FOUND');
    expect(ok<{ code: string }>(await api.request('GET', DOWNLOAD), 400).code).toBe('BAD_REQUEST');
  });

  it('own API: list (filters by client and state, pages), get, 404', async () => {
    const mine = ok<{ transfers: { file_id: string; state: string }[] }>(
      await api.request('GET', TRANSFERS, { query: { client: 'emqx-dev' } }),
    );
    expect(mine.transfers.map((t) => t.file_id).sort()).toEqual(['f-1', 'f-2', 'f-3', 'in-flight']);
    const receiving = ok<{
      transfers: { file_id: string; state: string; bytes_confirmed: number }[];
    }>(await api.request('GET', TRANSFERS, { query: { client: 'emqx-dev', state: 'receiving' } }));
    expect(receiving.transfers).toMatchObject([
      { file_id: 'in-flight', state: 'receiving', bytes_confirmed: 10 },
    ]);
    const several = ok<{ transfers: unknown[] }>(
      await api.request('GET', TRANSFERS, {
        query: { client: 'emqx-dev', state: 'receiving,complete' },
      }),
    );
    expect(several.transfers).toHaveLength(4);
    // Paging: one at a time, every transfer once.
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const query: Record<string, string> = { limit: '1' };
      if (token) query.page_token = token;
      const page = ok<{ transfers: { key: string }[]; next_page_token?: string }>(
        await api.request('GET', TRANSFERS, { query }),
      );
      keys.push(...page.transfers.map((t) => t.key));
      token = page.next_page_token;
    } while (token);
    expect(keys).toHaveLength(ids.length + 1);
    expect(new Set(keys).size).toBe(keys.length);

    for (const [clientId, fileId] of ids) {
      const t = ok<Record<string, unknown>>(
        await api.request('GET', TRANSFER, { params: { clientId, fileId } }),
      );
      expect(t).toMatchObject({
        client_id: clientId,
        file_id: fileId,
        state: 'complete',
        name: `${fileId}.bin`,
      });
      expect(t.checksum).toBe(sha256(stored.get(`${clientId}/${fileId}`) as Buffer));
      expect(t.location).toMatch(/^file:\/\//);
    }
    const none = await api.request('GET', TRANSFER, {
      params: { clientId: 'emqx-dev', fileId: 'nope' },
    });
    expect(ok<{ code: string }>(none, 404).code).toBe('NOT_FOUND');
    const bad = await api.request('GET', TRANSFERS, { query: { state: 'sleeping' } });
    expect(ok<{ code: string }>(bad, 400).code).toBe('BAD_REQUEST');
  });

  it('own API: content streams the bytes; delete removes the file, idempotently; 409 unless complete', async () => {
    const [clientId, fileId] = ids[2] as [string, string];
    const content = await api.request('GET', `${TRANSFER}/content`, {
      params: { clientId, fileId },
    });
    expect(content.problems).toEqual([]);
    expect(content.status).toBe(200);
    expect(content.headers.get('content-disposition')).toContain(
      "filename*=UTF-8''a%20b%3Fc%26d%3De%23%25.bin",
    );
    expect(sha256(content.bytes)).toBe(sha256(stored.get(`${clientId}/${fileId}`) as Buffer));

    const watch = await SseStream.open(
      api.url('/api/v1/events', {}, { client: clientId }),
      api.headers,
    );
    await waitFor(() => watch.of('ready').length === 1, { what: 'the event stream ready' });
    const deleted = await api.request('DELETE', '/api/v1/files/{clientId}/{fileId}', {
      params: { clientId, fileId },
    });
    ok(deleted, 204);
    const ref = { clientId, fileId, name: `${fileId}.bin` };
    expect(await storage.stat(ref)).toBeUndefined();
    // The transfer stays, complete, without a location; watchers hear of it.
    const after = ok<Record<string, unknown>>(
      await api.request('GET', TRANSFER, { params: { clientId, fileId } }),
    );
    expect(after.state).toBe('complete');
    expect(after.location).toBeUndefined();
    await waitFor(() => watch.of('transfer').length === 1, { what: 'the deletion event' });
    expect(watch.of('transfer')[0]).toMatchObject({
      client_id: clientId,
      file_id: fileId,
      state: 'complete',
    });
    watch.close();
    ok(
      await api.request('DELETE', '/api/v1/files/{clientId}/{fileId}', {
        params: { clientId, fileId },
      }),
      204,
    );
    const gone = await api.request('GET', `${TRANSFER}/content`, { params: { clientId, fileId } });
    expect(ok<{ code: string }>(gone, 404).code).toBe('NOT_FOUND');
    const emqx = await api.request('GET', FILE_OF, {
      params: { clientid: clientId, fileid: fileId },
    });
    expect(ok<{ code: string }>(emqx, 404).code).toBe('FILES_NOT_FOUND');
    const listed = ok<EmqxPage>(await api.request('GET', FILES)).files;
    expect(listed.map((f) => f.fileid)).not.toContain(fileId);
    stored.delete(`${clientId}/${fileId}`);

    for (const route of ['/api/v1/files/{clientId}/{fileId}', `${TRANSFER}/content`]) {
      const method = route.startsWith('/api/v1/files') ? 'DELETE' : 'GET';
      const busy = await api.request(method, route, {
        params: { clientId: 'emqx-dev', fileId: 'in-flight' },
      });
      expect(ok<{ code: string }>(busy, 409).code).toBe('CONFLICT');
    }
  });

  it('own API: abort puts the abort command into the stream and answers the aborted transfer', async () => {
    const clientId = 'abort dev/1';
    const key = await h.seedReceiving(clientId, 'stop me', { bytes: 5 });
    const answer = api.request('POST', `${TRANSFER}/abort`, {
      params: { clientId, fileId: 'stop me' },
    });
    await waitFor(
      async () =>
        (await h.jsm.streams
          .getMessage(h.stream, { last_by_subj: commandSubject(h.stream, key) })
          .then((msg) => msg !== null && decodeCommandHeaders(msg.header).kind === 'abort')
          .catch(() => false)) === true,
      { what: 'the abort command in the stream' },
    );
    await h.abortAsAssembler(key, clientId, 'stop me');
    expect(ok(await answer)).toMatchObject({
      client_id: clientId,
      file_id: 'stop me',
      state: 'aborted',
    });
    const complete = await api.request('POST', `${TRANSFER}/abort`, {
      params: { clientId: 'emqx-dev', fileId: 'f-1' },
    });
    expect(ok<{ code: string }>(complete, 409).code).toBe('CONFLICT');
  });

  it('event stream: `ready`, then each change of the client’s transfers, heartbeats; 400 for a bad filter', async () => {
    const watch = await SseStream.open(
      api.url('/api/v1/events', {}, { client: 'sse-dev' }),
      api.headers,
    );
    const other = await SseStream.open(
      api.url('/api/v1/events', {}, { client: 'someone-else' }),
      api.headers,
    );
    await waitFor(() => watch.of('ready').length === 1 && other.of('ready').length === 1, {
      what: 'both streams ready',
    });
    const key = await h.seedReceiving('sse-dev', 'live', { bytes: 42 });
    h.publishEvent(key, 'receiving');
    await waitFor(() => watch.of('transfer').length === 1, { what: 'the change' });
    expect(watch.of('transfer')[0]).toMatchObject({
      client_id: 'sse-dev',
      file_id: 'live',
      state: 'receiving',
      bytes_confirmed: 42,
    });
    expect(api.doc.components?.schemas?.Transfer).toBeDefined();
    watch.close();
    other.close();
    expect(other.of('transfer')).toEqual([]);
    const bad = await api.request('GET', '/api/v1/events', { query: { client: '' } });
    expect(ok<{ code: string }>(bad, 400).code).toBe('BAD_REQUEST');
  });

  it('counts requests by route template, method and code', async () => {
    const metrics = await h.control.registry.getSingleMetricAsString(
      'mqft_control_http_requests_total',
    );
    expect(metrics).toMatch(
      /mqft_control_http_requests_total\{route="\/api\/v1\/transfers\/\{clientId\}\/\{fileId\}",method="GET",code="404"[^}]*\} [1-9]/,
    );
    expect(metrics).toMatch(/route="\/api\/v5\/file_transfer\/files",method="GET",code="400"/);
    // Raw paths never become labels.
    expect(metrics).not.toContain('emqx-dev');
    const seconds = await h.control.registry.getSingleMetricAsString(
      'mqft_control_http_request_duration_seconds',
    );
    expect(seconds).toContain('route="/api/v1/events"');
  });
});

describe('HTTP API: event streams end cleanly', () => {
  it('heartbeats an idle stream, and ends it with `event: error` when control stops', async () => {
    const h = await Harness.start({ eventHeartbeatMs: 50 });
    try {
      const api = await apiClient(h);
      const watch = await SseStream.open(api.url('/api/v1/events'), {});
      expect(watch.status).toBe(200);
      await waitFor(() => watch.comments >= 2, { what: 'two heartbeats' });
      const stopping = h.control.stop(5_000);
      await waitFor(() => watch.ended, { what: 'the stream ended' });
      expect(watch.of('error')).toEqual([
        // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- vitest types its asymmetric matchers as any
        { code: 'SERVICE_UNAVAILABLE', message: expect.stringMatching(/shutting down/) },
      ]);
      await stopping;
    } finally {
      await h.close();
    }
  });

  it('a request in flight at stop finishes within the grace; new connections are refused', async () => {
    const h = await Harness.start({ env: { MQFT_ABORT_WAIT: '10s' } });
    try {
      const key = await h.seedReceiving('stop-dev', 'f', { bytes: 1 });
      const url = `${h.httpUrl}/api/v1/transfers/stop-dev/f/abort`;
      const inFlight = fetch(url, { method: 'POST' });
      await waitFor(
        async () =>
          (await h.jsm.streams
            .getMessage(h.stream, { last_by_subj: commandSubject(h.stream, key) })
            .catch(() => null)) !== null,
        { what: 'the abort command in the stream' },
      );
      const stopping = h.control.stop(10_000);
      await expect(fetch(`${h.httpUrl}/api/v1/transfers`)).rejects.toThrow();
      await h.abortAsAssembler(key, 'stop-dev', 'f');
      const answer = await inFlight;
      expect(answer.status).toBe(200);
      expect(((await answer.json()) as { state: string }).state).toBe('aborted');
      await stopping;
    } finally {
      await h.close();
    }
  });
});
