import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectMqtt, endMqtt } from '@mqft/mqtt';
import {
  freePort,
  startMosquitto,
  startMqftStack,
  type MqftStack,
  type ServerHandle,
} from '@mqft/test-support';
import { sha256 } from '../e2e/device.js';
import { makeTestPki, type TestPki } from './certs.js';
import { connectDevice } from './devices.js';

const logger = pino({ level: 'silent' });

// Mosquitto with a second listener that speaks TLS only and requires a client certificate
// signed by the test CA. The loopback bridge stays on the plain loopback listener (it runs
// inside the broker); ingest, assembler and the device all use mqtts:// with certificates.
describe('MQTT over TLS (mqtts://) with client certificates', () => {
  let pki: TestPki;
  let broker: ServerHandle;
  let tlsUrl: string;
  let stack: MqftStack | undefined;
  let storageDir: string;

  beforeAll(async () => {
    pki = makeTestPki(['mqft-ingest', 'mqft-assembler', 'dev-tls']);
    const tlsPort = await freePort('127.0.0.1');
    tlsUrl = `mqtts://127.0.0.1:${tlsPort}`;
    broker = await startMosquitto({
      extraConfig: [
        `listener ${tlsPort} 127.0.0.1`,
        `cafile ${pki.ca}`,
        `certfile ${pki.serverCert}`,
        `keyfile ${pki.serverKey}`,
        'require_certificate true',
        'tls_version tlsv1.2',
      ].join('\n'),
    });
    storageDir = await mkdtemp(path.join(tmpdir(), 'mqft-tls-files-'));
  });

  afterAll(async () => {
    await stack?.stop();
    await broker?.stop();
    await rm(storageDir, { recursive: true, force: true });
    if (pki) await rm(pki.dir, { recursive: true, force: true });
  });

  it('connectMqtt: connects with the CA and a client certificate, and verifies the broker', async () => {
    const client = await connectMqtt({
      url: tlsUrl,
      clientId: 'tls-ok',
      clean: true,
      logger,
      tls: { ca: pki.ca, ...pki.clients['mqft-ingest'] },
    });
    try {
      await client.subscribeAsync('tls/echo', { qos: 1 });
      const got = new Promise<string>((resolve) =>
        client.once('message', (_t, payload) => resolve(payload.toString())),
      );
      await client.publishAsync('tls/echo', 'over tls', { qos: 1 });
      expect(await got).toBe('over tls');
    } finally {
      await endMqtt(client);
    }
  });

  it("connectMqtt: refuses a broker it cannot verify (no CA given: the system's roots)", async () => {
    await expect(
      connectMqtt({
        url: tlsUrl,
        clientId: 'tls-no-ca',
        clean: true,
        logger,
        tls: pki.clients['mqft-ingest'],
        initialConnectTimeoutMs: 1_500,
      }),
    ).rejects.toThrow(/no MQTT connection/);
  });

  it('the broker refuses a client without a certificate', async () => {
    await expect(
      connectMqtt({
        url: tlsUrl,
        clientId: 'tls-no-cert',
        clean: true,
        logger,
        tls: { ca: pki.ca },
        initialConnectTimeoutMs: 1_500,
      }),
    ).rejects.toThrow(/no MQTT connection/);
  });

  it('connectMqtt: a certificate without its key, or an unreadable file, fails at once', async () => {
    const base = { url: tlsUrl, clientId: 'tls-bad', clean: true, logger };
    await expect(
      connectMqtt({ ...base, tls: { ca: pki.ca, cert: pki.clients['dev-tls']?.cert } }),
    ).rejects.toThrow(/both a certificate and a key/);
    await expect(
      connectMqtt({ ...base, tls: { ca: path.join(pki.dir, 'missing.pem') } }),
    ).rejects.toThrow(/cannot read the MQTT TLS CA file/);
  });

  it('ingest and assembler run over mqtts:// with client certificates; a TLS device uploads', async () => {
    const ingestTls = pki.clients['mqft-ingest'] as { cert: string; key: string };
    stack = await startMqftStack({
      storage: `file://${storageDir}`,
      mqttUrl: tlsUrl,
      ingests: 1,
      assemblers: 1,
      env: {
        MQFT_MQTT_CA: pki.ca,
        MQFT_MQTT_CERT: ingestTls.cert,
        MQFT_MQTT_KEY: ingestTls.key,
        MQFT_INGEST_CONNECTIONS: '2',
      },
    });
    const device = await connectDevice(tlsUrl, {
      clientId: 'dev-tls',
      ca: pki.ca,
      ...pki.clients['dev-tls'],
    });
    try {
      const data = randomBytes(2 * 1024 * 1024 + 17);
      const result = await device.upload('over-tls', data, { segmentSize: 256 * 1024 });
      expect(result).toMatchObject({ reason_code: 0 });
      expect(result.location).toBe(`file://${storageDir}/dev-tls/over-tls/over-tls.bin`);
      const stored = await readFile(fileURLToPath(result.location as string));
      expect(sha256(stored)).toBe(sha256(data));
    } finally {
      await device.close();
    }
    // The services' only broker URL is the TLS listener, and they are still up.
    for (const service of [...stack.ingests, ...stack.assemblers])
      expect(service.running).toBe(true);
  });
});
