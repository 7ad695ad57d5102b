import { randomBytes } from 'node:crypto';
import { chmod, chown, cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  REPO_ROOT,
  startMqftService,
  startMqftStack,
  type MqftStack,
  type ServerHandle,
} from '@mqft/test-support';
import { sha256, TestDevice } from '../e2e/device.js';
import { resilientUpload, ResultWaiter } from './support/uploader.js';

// What the container image holds, without Docker: deploy/Dockerfile's runtime stage is
// Node.js, dist/ and nothing else, run as uid/gid 65532 with NODE_ENV=production. Here the
// bundles are copied alone into an empty directory and run as that user with a clean
// environment: if a bundle still needed node_modules or a file outside dist/, or wrote
// where it may not, an upload through them would fail; control must find the console's
// built page in dist/ too.

const NONROOT = 65532;
const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)('the services run from dist/ alone, as a non-root user', () => {
  let dir: string;
  let stack: MqftStack;
  const services: ServerHandle[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mqft-image-'));
    await chmod(dir, 0o755);
    await cp(join(REPO_ROOT, 'dist'), join(dir, 'app/dist'), { recursive: true });
    await mkdir(join(dir, 'files'));
    await chown(join(dir, 'files'), NONROOT, NONROOT);
    stack = await startMqftStack({ storage: `file://${dir}/files`, ingests: 0, assemblers: 0 });
  });
  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop()));
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('ingest, assembler and control start, carry an upload, and stop cleanly', async () => {
    const image = { cwd: join(dir, 'app'), uid: NONROOT, gid: NONROOT, cleanEnv: true };
    const env = { ...stack.env, NODE_ENV: 'production' };
    services.push(
      await startMqftService(
        'ingest',
        { ...env, MQFT_MQTT_CLIENT_ID: `${stack.stream}-i0` },
        image,
      ),
      await startMqftService('assembler', env, image),
      await startMqftService('control', env, image),
    );
    for (const service of services) {
      const status = await readFile(`/proc/${service.pid}/status`, 'utf8');
      expect(status, service.name).toMatch(new RegExp(`^Uid:\\s+${NONROOT}\\s`, 'm'));
    }
    // control serves the console from dist/console (MQFT_CONSOLE_DIR, relative to /app).
    const api = `http://${stack.env.MQFT_HTTP_API_ADDR as string}`;
    const page = await fetch(`${api}/console/`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<title>mqft console</title>');
    const assets = [...html.matchAll(/(?:src|href)="(\/console\/assets\/[^"]+)"/g)].map(
      (m) => m[1],
    );
    expect(assets.length).toBeGreaterThanOrEqual(2); // the script and the style sheet
    for (const asset of assets) expect((await fetch(`${api}${asset}`)).status, asset).toBe(200);
    const device = await TestDevice.connect(stack.mqttUrl);
    try {
      const data = randomBytes(1024 * 1024);
      const { result } = await resilientUpload(
        device,
        new ResultWaiter(device.client),
        'from-dist',
        data,
      );
      expect(result).toMatchObject({ reason_code: 0 });
      expect(sha256(await readFile(fileURLToPath(result.location as string)))).toBe(sha256(data));
    } finally {
      await device.close();
    }
    for (const service of services) {
      expect(await service.terminate(), service.name).toMatchObject({ code: 0 });
    }
  });
});
