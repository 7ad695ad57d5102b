import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { upload } from '@mqft/client';
import { OpenApiClient, startMqftStack, waitFor, type MqftStack } from '@mqft/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256, TestDevice } from './device.js';

const TOKEN = 'e2e-http-token';

interface TransferJson {
  client_id: string;
  file_id: string;
  state: string;
  size?: number;
  bytes_confirmed: number;
}

/** The HTTP API of a running stack, with uploads by the SDK and by hand. */
describe('the HTTP API over a running stack', () => {
  let stack: MqftStack;
  let dir: string;
  let device: TestDevice;
  let api: OpenApiClient;
  const events: TransferJson[] = [];
  const watch = new AbortController();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mqft-http-'));
    stack = await startMqftStack({
      storage: `file://${dir}`,
      control: true,
      env: { MQFT_API_TOKENS: TOKEN },
    });
    device = await TestDevice.connect(stack.mqttUrl);
    // EMQX scripts send an API key and secret as HTTP Basic: the token is the secret.
    const basic = `Basic ${Buffer.from(`emqx-key:${TOKEN}`).toString('base64')}`;
    api = await OpenApiClient.fetch(
      `http://${stack.env.MQFT_HTTP_API_ADDR as string}`,
      '/api/v1/openapi.json',
      { authorization: basic },
    );
  });
  afterAll(async () => {
    watch.abort();
    await device?.close();
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** Reads `event: transfer` data of the open stream into `events`; resolves once `ready`. */
  async function openEvents(clientId: string): Promise<void> {
    const res = await fetch(api.url('/api/v1/events', {}, { client: clientId }), {
      headers: { authorization: `Bearer ${TOKEN}` },
      signal: watch.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    let ready: () => void = () => undefined;
    const isReady = new Promise<void>((resolve) => (ready = resolve));
    void (async () => {
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (block.startsWith('event: ready')) ready();
          const data = /^event: transfer\ndata: (.*)$/m.exec(block)?.[1];
          if (data) events.push(JSON.parse(data) as TransferJson);
        }
      }
    })();
    await isReady;
  }

  it('an SDK upload: live events up to complete, then EMQX listing and download with the same SHA-256', async () => {
    await openEvents(device.clientId);
    const data = randomBytes(600_000);
    const result = await upload(device.client, data, {
      fileId: 'sdk-upload',
      name: 'report 1.bin',
      userData: { camera: 3 },
      segmentSize: 64 * 1024,
    }).done;
    expect(result.location).toMatch(/^file:\/\//);

    await waitFor(() => events.some((e) => e.file_id === 'sdk-upload' && e.state === 'complete'), {
      what: 'the complete event',
    });
    const last = events.filter((e) => e.file_id === 'sdk-upload').at(-1) as TransferJson;
    expect(last).toMatchObject({
      state: 'complete',
      size: data.length,
      client_id: device.clientId,
    });
    expect(events.some((e) => e.file_id === 'sdk-upload' && e.state === 'receiving')).toBe(true);

    // As an EMQX script would: list, pick the file, follow its uri.
    const listing = await api.request('GET', '/api/v5/file_transfer/files', {
      query: { limit: '10' },
    });
    expect(listing.problems).toEqual([]);
    const files = (listing.body as { files: Record<string, unknown>[] }).files;
    const file = files.find((f) => f.fileid === 'sdk-upload') as Record<string, unknown>;
    expect(file).toMatchObject({
      clientid: device.clientId,
      name: 'report 1.bin',
      size: data.length,
      metadata: { name: 'report 1.bin', size: data.length, user_data: { camera: 3 } },
    });
    const download = await fetch(`${api.baseUrl}${file.uri as string}`, { headers: api.headers });
    expect(download.status).toBe(200);
    expect(download.headers.get('content-disposition')).toMatch(/^attachment/);
    expect(sha256(Buffer.from(await download.arrayBuffer()))).toBe(sha256(data));

    const content = await api.request('GET', '/api/v1/transfers/{clientId}/{fileId}/content', {
      params: { clientId: device.clientId, fileId: 'sdk-upload' },
    });
    expect(content.problems).toEqual([]);
    expect(sha256(content.bytes)).toBe(sha256(data));
  });

  it('abort through the HTTP API: the device is told, and its fin is refused', async () => {
    await device.init('http-stopped', { name: 's.bin' });
    await device.segment('http-stopped', 0, randomBytes(1000));
    const deviceAnswer = device.result('$file/http-stopped/abort');
    const aborted = await api.request('POST', '/api/v1/transfers/{clientId}/{fileId}/abort', {
      params: { clientId: device.clientId, fileId: 'http-stopped' },
    });
    expect(aborted.problems).toEqual([]);
    expect(aborted.status).toBe(200);
    expect(aborted.body).toMatchObject({ state: 'aborted', file_id: 'http-stopped' });
    expect(await deviceAnswer).toMatchObject({ reason_code: 0 });
    expect(await device.fin('http-stopped', 1000)).toMatchObject({
      reason_code: 0x83,
      reason_description: 'aborted',
    });
    await waitFor(() => events.some((e) => e.file_id === 'http-stopped' && e.state === 'aborted'), {
      what: 'the aborted event',
    });
  });
});
