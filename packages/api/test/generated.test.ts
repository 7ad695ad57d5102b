import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GEN_DIR, generate, generatorTools, PACKAGE_DIR } from '../scripts/generate.js';

const tools = generatorTools();
const missing = !tools.buf || !tools.plugin;
if (missing) {
  console.warn(
    'SKIPPED: buf or protoc-gen-ts_proto is not installed in packages/api/node_modules/.bin (run pnpm install); cannot check src/gen',
  );
}

function listFiles(dir: string, base = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? listFiles(full, base) : [path.relative(base, full)];
  });
}

describe.skipIf(missing)('generated code', () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'mqft-api-gen-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('is what proto/ generates now (run `pnpm --filter @mqft/api generate` after editing proto/)', () => {
    generate(tmp);
    const fresh = path.join(tmp, GEN_DIR);
    const committed = path.join(PACKAGE_DIR, GEN_DIR);
    const files = listFiles(fresh).sort();
    expect(listFiles(committed).sort()).toEqual(files);
    expect(files).toContain('mqft/v1/transfer_service.ts');
    expect(files).toContain('descriptor-set.ts');
    for (const file of files) {
      const same = readFileSync(path.join(fresh, file)).equals(
        readFileSync(path.join(committed, file)),
      );
      expect(same, `${GEN_DIR}/${file} is out of date`).toBe(true);
    }
  }, 60_000);
});
