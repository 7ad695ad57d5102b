// The demo device of `pnpm start`: uploads a generated file through the SDK, the way a real
// device would, so a fresh local stack shows the whole path from MQTT to storage at once.
import { connectAsync } from 'mqtt';
import { upload, type UploadProgress } from '@mqft/client';

/** The demo device's clientId (in the scoped layout also its MQTT user). */
export const DEMO_CLIENT_ID = 'mqft-demo';
const DEMO_SIZE = 1024 * 1024;

/** About 1 MiB of readable text, different on every run. */
function demoFile(): Buffer {
  const started = new Date().toISOString();
  const lines: string[] = [];
  let size = 0;
  for (let n = 1; size < DEMO_SIZE; n++) {
    const line = `mqft demo file, generated ${started}, line ${n}: the quick brown fox jumps over the lazy dog\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join('').slice(0, DEMO_SIZE), 'utf8');
}

/** How the demo device talks to the broker: the deployment's layout and its login, if any. */
export type DemoLogin =
  { layout: 'emqx' } | { layout: 'scoped'; username: string; password: string };

/**
 * Connects the demo device (MQTT 5, clientId `mqft-demo`), uploads a generated ~1 MiB file
 * in the given layout and reports progress and where the file landed through `log`.
 */
export async function runDemoUpload(
  mqttUrl: string,
  login: DemoLogin,
  log: (line: string) => void,
): Promise<{ location: string }> {
  const client = await connectAsync(mqttUrl, {
    clientId: DEMO_CLIENT_ID,
    protocolVersion: 5,
    reconnectPeriod: 1000,
    ...(login.layout === 'scoped' ? { username: login.username, password: login.password } : {}),
  });
  client.on('error', () => undefined); // MQTT.js reconnects by itself
  try {
    const data = demoFile();
    const fileId = `demo-${Date.now()}`;
    log(
      `demo: device ${DEMO_CLIENT_ID} uploads ${fileId} (${data.length} bytes) to ${mqttUrl}, ${login.layout} layout`,
    );
    const transfer = upload(client, data, {
      layout: login.layout,
      fileId,
      name: 'mqft-demo.txt',
      userData: { demo: true },
    });
    let reported = -1;
    transfer.on('progress', (p: UploadProgress) => {
      const quarter = Math.floor(p.fraction * 4);
      if (quarter === reported) return;
      reported = quarter;
      const rate = (p.bytesPerSecond / 1024 / 1024).toFixed(1);
      log(
        `demo: ${Math.round(p.fraction * 100)}% confirmed (${p.bytesConfirmed} bytes, ${rate} MiB/s)`,
      );
    });
    const result = await transfer.done;
    log(`demo: stored ${result.clientId}/${result.fileId}, sha256 ${result.checksum}`);
    log(`demo: the file is at ${result.location}`);
    return { location: result.location };
  } finally {
    await client.endAsync().catch(() => undefined);
  }
}
