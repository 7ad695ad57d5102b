import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { notFound } from './errors.js';
import type { Route } from './router.js';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * The console's static assets from `dir` (MQFT_CONSOLE_DIR), open without a token (the page
 * asks for it). `/console/` is index.html; hashed files under assets/ are cached for good,
 * everything else is revalidated. Nothing outside `dir` is ever served.
 */
export function consoleRoutes(dir: string): Route[] {
  const root = path.resolve(dir);
  return [
    {
      method: 'GET',
      template: '/console',
      open: true,
      handle({ res }) {
        res.writeHead(301, { location: '/console/' });
        res.end();
        return Promise.resolve();
      },
    },
    {
      method: 'GET',
      template: '/console/*',
      open: true,
      async handle({ req, res, params }) {
        let rest: string;
        try {
          rest = decodeURIComponent(params['*'] ?? '');
        } catch {
          throw notFound('no such console asset');
        }
        const file = path.resolve(root, rest === '' ? 'index.html' : rest);
        if (!file.startsWith(root + path.sep) || rest.includes('\0'))
          throw notFound('no such console asset');
        const info = await stat(file).catch(() => undefined);
        if (!info?.isFile()) throw notFound('no such console asset (is the console built?)');
        const immutable = path.relative(root, file).startsWith(`assets${path.sep}`);
        res.writeHead(200, {
          'content-type':
            CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
          'content-length': info.size,
          'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
          'x-content-type-options': 'nosniff',
        });
        if (req.method === 'HEAD') return void res.end();
        await pipeline(createReadStream(file), res);
      },
    },
  ];
}
