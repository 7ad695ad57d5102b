// Builds the console into the repository's dist/console (see vite.config.mjs). scripts/build.mjs
// imports this module, so that `vite` resolves from this package's dependencies.
import { fileURLToPath, pathToFileURL, URL } from 'node:url';
import { build } from 'vite';

export async function buildConsole() {
  await build({ configFile: fileURLToPath(new URL('./vite.config.mjs', import.meta.url)) });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await buildConsole();
}
