import type { ServerResponse } from 'node:http';
import type { HttpError } from './errors.js';

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

export function sendError(res: ServerResponse, error: HttpError, headers = {}): void {
  if (res.headersSent) {
    res.destroy(error);
    return;
  }
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value as string);
  sendJson(res, error.status, { code: error.code, message: error.message });
}

/** `attachment; filename="…"; filename*=UTF-8''…`: ASCII fallback, the exact name in RFC 5987. */
export function attachment(name: string): string {
  if (name === '') return 'attachment';
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  const exact = encodeURIComponent(name).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${ascii}"; filename*=UTF-8''${exact}`;
}
