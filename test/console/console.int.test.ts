import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { upload, UploadError } from '@mqft/client';
import { transferKey } from '@mqft/protocol';
import { CreatedIndexes, createRedis, TransferStore, type RedisClient } from '@mqft/state';
import { REPO_ROOT, startMqftStack, type MqftStack } from '@mqft/test-support';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256, TestDevice } from '../e2e/device.js';

// The console (packages/console, served by control at /console/) in a real browser: Debian's
// chromium driven by playwright-core, against a whole stack of real processes. Every wait is
// on a condition of the page (Playwright's auto-waiting locators), never a fixed time.

const TOKEN = 'console-test-token';
const CHROMIUM = '/usr/bin/chromium';
/** Generous: a loaded 2-core machine runs other stacks beside this one. */
const PAGE_TIMEOUT_MS = 60_000;
/** Set to a path (e.g. docs/console.png) to save a screenshot of the console there. */
const SCREENSHOT = process.env.CONSOLE_SCREENSHOT;

describe('the console in a real browser', () => {
  let stack: MqftStack;
  let dir: string;
  let profile: string;
  let device: TestDevice;
  let browser: BrowserContext;
  let page: Page;
  let redis: RedisClient;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mqft-console-'));
    profile = await mkdtemp(join(tmpdir(), 'mqft-chromium-'));
    stack = await startMqftStack({
      storage: `file://${dir}`,
      control: true,
      env: { MQFT_API_TOKENS: TOKEN, MQFT_FIN_GRACE: '1s' },
    });
    redis = createRedis(stack.env.MQFT_REDIS_URL as string);
    device = await TestDevice.connect(stack.mqttUrl, {
      clientId: `truck-${randomBytes(3).toString('hex')}`,
    });
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      acceptDownloads: true,
      viewport: { width: 1360, height: 640 },
      colorScheme: 'light',
    });
    browser.setDefaultTimeout(PAGE_TIMEOUT_MS);
    page = browser.pages()[0] ?? (await browser.newPage());
  });
  afterAll(async () => {
    await browser?.close();
    await device?.close();
    redis?.disconnect();
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
    await rm(profile, { recursive: true, force: true });
  });

  const row = (fileId: string, extra = ''): Locator =>
    page.locator(`#rows tr[data-file-id="${fileId}"]${extra}`);

  /** Shows one client's transfers (the filter form). */
  async function showClient(clientId: string): Promise<void> {
    await page.locator('#filter-client').fill(clientId);
    await page.locator('#filters button[type=submit]').click();
  }

  it('asks for the token: a wrong one is refused with a clear message, the right one opens it', async () => {
    const answer = await page.goto(`http://${stack.env.MQFT_HTTP_API_ADDR}/console/`);
    expect(answer?.status()).toBe(200);
    await page.locator('#token').fill('not-the-token');
    await page.locator('#login-form button').click();
    const message = page.locator('#login-error');
    await message.waitFor();
    expect(await message.textContent()).toMatch(
      /^The API token was not accepted \(HTTP 401 UNAUTHORIZED: .*\)\. Check it against control's MQFT_API_TOKENS\.$/,
    );
    expect(await page.locator('#console').isHidden()).toBe(true);
    expect(await page.evaluate('sessionStorage.length')).toBe(0);

    await page.locator('#token').fill(TOKEN);
    await page.locator('#login-form button').click();
    await page.locator('#console').waitFor();
    await page.locator('#live[data-state="live"]').waitFor();
    expect(await page.locator('#login').isHidden()).toBe(true);
    // Kept for this tab's session only.
    expect(await page.evaluate("sessionStorage.getItem('mqft.console.token')")).toBe(TOKEN);
    expect(await page.evaluate('localStorage.length')).toBe(0);
  });

  it('an SDK upload appears live, its bar reaches 100 % and it becomes complete; the download has the same SHA-256', async () => {
    await showClient(device.clientId);
    await page.locator('#live[data-state="live"]').waitFor();
    const data = randomBytes(1536 * 1024);
    // Throttled, so the upload is still in flight while the page shows it.
    const transfer = upload(device.client, data, {
      fileId: 'engine-log-0412',
      name: 'engine-log 2026-12-01.tar.gz',
      segmentSize: 64 * 1024,
      bandwidth: 256 * 1024,
    });
    await row('engine-log-0412', '[data-state="receiving"]').waitFor();
    const result = await transfer.done;
    expect(result.location).toMatch(/^file:\/\//);
    await row('engine-log-0412', '[data-state="complete"]').waitFor();
    await row('engine-log-0412').locator('[role=progressbar][aria-valuenow="100"]').waitFor();
    expect(await row('engine-log-0412').locator('.name').textContent()).toBe(
      'engine-log 2026-12-01.tar.gz',
    );

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      row('engine-log-0412').locator('button.download').click(),
    ]);
    expect(download.suggestedFilename()).toBe('engine-log 2026-12-01.tar.gz');
    expect(sha256(await readFile(await download.path()))).toBe(sha256(data));
  });

  it('aborts an upload in flight from the page: the device is told and its upload rejects', async () => {
    const told = device.result('$file/firmware-dump/abort', PAGE_TIMEOUT_MS);
    // ~20 s at this rate: in flight while the page aborts it. The SDK learns of the abort
    // from its fin's result (segments are not refused), so this also bounds the test.
    const transfer = upload(device.client, randomBytes(2 * 1024 * 1024), {
      fileId: 'firmware-dump',
      name: 'firmware.bin',
      segmentSize: 32 * 1024,
      bandwidth: 96 * 1024,
    });
    const outcome = transfer.done.then(
      () => undefined,
      (err: unknown) => err,
    );
    const inFlight = row('firmware-dump', '[data-state="receiving"]');
    await inFlight.locator('[role=progressbar][aria-valuenow]').waitFor();
    const abort = inFlight.locator('button.abort');
    await abort.click();
    await inFlight.locator('button.abort.armed', { hasText: 'Confirm abort' }).waitFor();
    await abort.click();
    await row('firmware-dump', '[data-state="aborted"]').waitFor();

    expect(await told).toMatchObject({ reason_code: 0 });
    const error = await outcome;
    expect(error).toBeInstanceOf(UploadError);
    expect(error).toMatchObject({ kind: 'rejected', reasonDescription: 'aborted' });
    expect(await row('firmware-dump').locator('button').count()).toBe(0);
  });

  it('shows the missing ranges after an incomplete fin', async () => {
    const segment = 100_000;
    await device.init('camera-frames', { name: 'frames.raw', size: 4 * segment });
    await device.segment('camera-frames', 0, randomBytes(segment));
    await device.segment('camera-frames', 2 * segment, randomBytes(segment));
    const fin = await device.fin('camera-frames', 4 * segment);
    expect(fin.reason_code).not.toBe(0);
    // Still receiving (the device may send what is missing), with the ranges the fin lacked.
    const incomplete = row('camera-frames', '[data-state="receiving"]');
    await incomplete.locator('.missing', { hasText: '100000–199999, 300000–399999' }).waitFor();
    expect(await incomplete.locator('[role=progressbar]').getAttribute('aria-valuenow')).toBe('50');
  });

  it('pages through a few hundred transfers with server page tokens, filtered by client and state', async () => {
    const fleet = `fleet-${randomBytes(3).toString('hex')}`;
    const count = 260;
    const store = new TransferStore(redis, stack.redisPrefix);
    const indexes = new CreatedIndexes(redis, stack.redisPrefix, {
      maxListed: 1_000_000,
      maxListedPerClient: 10_000,
    });
    const start = Date.now() - 3_600_000;
    for (let i = 0; i < count; i += 20) {
      await Promise.all(
        Array.from({ length: Math.min(20, count - i) }, async (_, j) => {
          const fileId = `f-${String(i + j).padStart(3, '0')}`;
          const key = transferKey({ clientId: fleet, fileId });
          const meta = JSON.stringify({ name: `${fileId}.log`, size: 1000 });
          const now = start + (i + j) * 1000;
          await store.recordInit(key, {
            canonical: meta,
            filemetaJson: meta,
            name: `${fileId}.log`,
            clientId: fleet,
            fileId,
            now,
            ttlMs: 3_600_000 * 2,
            declaredSize: 1000,
          });
          await indexes.indexTransfer(key, now);
        }),
      );
    }

    await showClient(fleet);
    const firstRow = page.locator('#rows tr').first();
    const onPage = async (n: number, first: string, rows: number) => {
      await page.locator('#page', { hasText: `Page ${n}` }).waitFor();
      await page.locator(`#rows tr:first-child[data-file-id="${first}"]`).waitFor();
      expect(await page.locator('#rows tr').count()).toBe(rows);
    };
    await onPage(1, 'f-000', 50);
    expect(await page.locator('#prev').isDisabled()).toBe(true);
    for (let n = 2; n <= 6; n++) {
      await page.locator('#next').click();
      await onPage(n, `f-${String((n - 1) * 50).padStart(3, '0')}`, n === 6 ? 10 : 50);
    }
    expect(await page.locator('#next').isDisabled()).toBe(true);
    expect(await page.locator('#rows tr').last().getAttribute('data-file-id')).toBe('f-259');
    await page.locator('#prev').click();
    await onPage(5, 'f-200', 50);
    expect(await firstRow.getAttribute('data-client-id')).toBe(fleet);

    // Filters: one state (every seeded transfer is receiving), then a state none is in.
    await page.locator('#filter-state').selectOption('receiving');
    await onPage(1, 'f-000', 50);
    await page.locator('#filter-state').selectOption('complete');
    await page.locator('#empty').waitFor();
    expect(await page.locator('#rows tr').count()).toBe(0);
    await page.locator('#filter-state').selectOption('');
  });

  it('shows a few transfers of a device (the screenshot in docs/)', async () => {
    // One more in flight, part-way.
    await device.init('vibration-trace', { name: 'vibration.csv', size: 800_000 });
    await device.segment('vibration-trace', 0, randomBytes(300_000));
    await showClient(device.clientId);
    await row('vibration-trace', '[data-state="receiving"]')
      .locator('[role=progressbar][aria-valuenow="37"]')
      .waitFor();
    await page.locator('#rows tr').nth(3).waitFor();
    if (SCREENSHOT !== undefined) {
      const file = resolve(REPO_ROOT, SCREENSHOT);
      await mkdir(dirname(file), { recursive: true });
      await page.setViewportSize({ width: 1280, height: 350 });
      await page.screenshot({ path: file });
    }
    expect(await page.locator('#rows tr').count()).toBe(4);
  });
});
