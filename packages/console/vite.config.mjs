// The console's Vite configuration: `pnpm build` (scripts/build.mjs) writes the page to the
// repository's dist/console, beside the service bundles, where control serves it at /console/
// (MQFT_CONSOLE_DIR) — in `pnpm start` and in the image alike. `pnpm --filter @mqft/console dev`
// serves it with hot reload and passes /api to a running control (MQFT_CONSOLE_API).
import { fileURLToPath, URL } from 'node:url';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
  base: '/console/',
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../../dist/console', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // Every asset is a file of its own (no data: URLs), all served by control: no CDN.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
  server: {
    proxy: { '/api': process.env.MQFT_CONSOLE_API ?? 'http://127.0.0.1:8080' },
  },
});
