import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenApiClient } from '@mqft/test-support';
import { Harness } from './harness.js';

const basic = (userPass: string) => `Basic ${Buffer.from(userPass).toString('base64')}`;

describe('HTTP API: tokens, open routes and the console assets', () => {
  let h: Harness;
  const consoleDir = mkdtempSync(path.join(tmpdir(), 'mqft-console-'));
  beforeAll(async () => {
    writeFileSync(path.join(consoleDir, 'index.html'), '<!doctype html><title>mqft</title>');
    h = await Harness.start({ tokens: ['tok-1', 'tok-2'], env: { MQFT_CONSOLE_DIR: consoleDir } });
    await h.seedReceiving('auth-dev', 'f1');
  });
  afterAll(async () => {
    await h?.close();
    rmSync(consoleDir, { recursive: true, force: true });
  });

  it('no token → 401 {code: UNAUTHORIZED, message}', async () => {
    const res = await h.http('/api/v1/transfers', { token: null });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['code', 'message']);
    expect(body.code).toBe('UNAUTHORIZED');
    expect((await h.http('/api/v5/file_transfer/files', { token: null })).status).toBe(401);
  });

  it('accepts Bearer, and Basic as <key>:<token> or <token>:', async () => {
    expect((await h.http('/api/v1/transfers', { token: 'tok-2' })).status).toBe(200);
    for (const credentials of ['my-api-key:tok-1', 'tok-1:']) {
      const res = await h.http('/api/v1/transfers', {
        token: null,
        headers: { authorization: basic(credentials) },
      });
      expect(res.status, credentials).toBe(200);
    }
  });

  it('a wrong token → 401, as Bearer and as Basic', async () => {
    expect((await h.http('/api/v1/transfers', { token: 'nope' })).status).toBe(401);
    for (const credentials of ['key:nope', 'tok-1:nope', 'nope:', ':']) {
      const res = await h.http('/api/v1/transfers', {
        token: null,
        headers: { authorization: basic(credentials) },
      });
      expect(res.status, credentials).toBe(401);
    }
  });

  it('serves the console and the OpenAPI document without a token; nothing outside the directory', async () => {
    const doc = await OpenApiClient.fetch(h.httpUrl, '/api/v1/openapi.json');
    const page = await doc.request('GET', '/console/{path}', { params: { path: 'index.html' } });
    expect(page.problems).toEqual([]);
    expect(page.status).toBe(200);
    expect(page.bytes.toString()).toContain('<title>mqft</title>');
    expect(
      (await doc.request('GET', '/console/{path}', { params: { path: 'x.js' } })).problems,
    ).toEqual([]);
    const index = await h.http('/console/', { token: null });
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await index.text()).toContain('<title>mqft</title>');
    expect((await h.http('/console', { token: null })).headers.get('location')).toBe('/console/');
    const missing = await h.http('/console/nope.js', { token: null });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { code: string }).code).toBe('NOT_FOUND');
    for (const escape of [
      '/console/../outside.txt',
      '/console/%2e%2e/outside.txt',
      '/console/..%2Foutside.txt',
    ]) {
      expect((await h.http(escape, { token: null })).status, escape).toBe(404);
    }
    expect((doc.doc as unknown as { openapi: string }).openapi).toBe('3.1.0');
  });

  it('an unknown route → 404, a wrong method → 405 with Allow', async () => {
    expect((await h.http('/api/v1/nothing')).status).toBe(404);
    const res = await h.http('/api/v1/transfers', { method: 'DELETE' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET');
  });
});
