import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectQuiet,
  startMqftStack,
  startScopedMosquitto,
  type MqftStack,
  type ScopedMosquitto,
} from '@mqft/test-support';
import { sha256, type TestDevice } from '../e2e/device.js';
import { connectDevice } from './devices.js';

const NOT_AUTHORIZED = 0x87;
const DEVICES = ['devA', 'devB'];

// The scoped layout behind a real Mosquitto with deploy/mosquitto/acl.example and passwords
// (test-support's startScopedMosquitto, which `pnpm start` runs too): services log in as
// mqft-ingest / mqft-assembler on the main listener, the loopback bridge as mqft-bridge, and
// devices on a listener of their own with `use_username_as_clientid true`, so the clientId
// that the ACL's %c (and the scoped topic) names is the authenticated user.
describe('isolation between devices: scoped layout, acl.example, passwords', () => {
  let dir: string;
  let scoped: ScopedMosquitto;
  let deviceUrl: string;
  let stack: MqftStack;
  let nc: NatsConnection;
  const devices: TestDevice[] = [];

  const login = async (user: string, clientId = user): Promise<TestDevice> => {
    const device = await connectDevice(deviceUrl, {
      clientId,
      identity: 'scoped',
      username: user,
      password: scoped.password(user),
    });
    devices.push(device);
    return device;
  };
  const lastSeq = async () =>
    (await (await jetstreamManager(nc)).streams.info(stack.stream)).state.last_seq;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'mqft-acl-'));
    scoped = await startScopedMosquitto({ devices: DEVICES });
    deviceUrl = scoped.deviceUrl;
    stack = await startMqftStack({
      storage: `file://${path.join(dir, 'files')}`,
      mqttUrl: scoped.broker.url,
      layout: 'scoped',
      ingests: 1,
      assemblers: 1,
      serviceEnv: scoped.serviceEnv,
    });
    nc = await connect({ servers: stack.env.MQFT_NATS_URL?.split(',') ?? [] });
  });

  afterAll(async () => {
    await Promise.allSettled(devices.map((d) => d.close()));
    await nc?.close();
    await stack?.stop();
    await scoped?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("device A can neither create, append to, finish, abort nor read device B's transfer", async () => {
    const a = await login('devA');
    const b = await login('devB');
    const spy: string[] = [];
    a.client.on('message', (topic) => spy.push(topic));
    // The broker grants the subscription (Mosquitto 2.0.11) but never delivers on it.
    await a.client.subscribeAsync('$file-response/devB', { qos: 1 });

    expect(await b.init('secret', { name: 'secret.bin' })).toMatchObject({ reason_code: 0 });
    const before = await lastSeq();
    const forged = [
      ['$file/devB/secret/init', JSON.stringify({ name: 'evil.bin' })],
      ['$file/devB/secret/0', 'EVIL'],
      ['$file/devB/secret/0/' + sha256(Buffer.from('EVIL')), 'EVIL'],
      ['$file/devB/secret/fin/4', ''],
      ['$file/devB/secret/abort', ''],
      ['$file/devB/fresh/init', JSON.stringify({ name: 'fresh.bin' })],
      ['$file-async/devB/secret/0', 'EVIL'],
      // Straight into ingest's internal topic, past the bridge.
      ['mqft/in/$file/devB/secret/0', 'EVIL'],
      ['mqft/in/$file/devA/own/init', JSON.stringify({ name: 'x' })],
      // A result forged for B.
      ['$file-response/devB', '{"vsn":"0.1","topic":"$file/devB/secret/fin/4","reason_code":0}'],
    ] as const;
    for (const [topic, payload] of forged) {
      await expect(a.client.publishAsync(topic, payload, { qos: 1 }), topic).rejects.toMatchObject({
        code: NOT_AUTHORIZED,
      });
    }
    await expectQuiet(500, async () =>
      expect(await lastSeq(), 'nothing reached the stream').toBe(before),
    );

    // B's transfer is untouched: B's bytes, not A's, complete it.
    const data = randomBytes(100_000);
    expect(await b.segment('secret', 0, data)).toMatchObject({ reason_code: 0 });
    const fin = await b.fin('secret', data.length, sha256(data));
    expect(fin).toMatchObject({ reason_code: 0 });
    expect(sha256(await readFile(fileURLToPath(fin.location as string)))).toBe(sha256(data));
    expect(await lastSeq(), "B's own commands do reach the stream").toBeGreaterThan(before);
    await expectQuiet(300, () => expect(spy, "A saw none of B's results").toEqual([]));
    expect(b.all.some((r) => r.topic.includes('/fresh/'))).toBe(false);
    expect(
      await readdir(path.join(dir, 'files', 'devB')),
      "only B's own transfer exists under B",
    ).toEqual(['secret']);
  });

  it('a device claiming another clientId on the devices listener still gets its own', async () => {
    // use_username_as_clientid: the claimed clientId "devB" is replaced with the username.
    const impostor = await login('devA', 'devB');
    await expect(
      impostor.client.publishAsync('$file/devB/x/init', JSON.stringify({ name: 'x' }), {
        qos: 1,
      }),
    ).rejects.toMatchObject({ code: NOT_AUTHORIZED });
    await impostor.client.publishAsync('$file/devA/mine/init', JSON.stringify({ name: 'm' }), {
      qos: 1,
    });
  });

  it('a clientId containing / cannot reach another device: the username, not the claim, is %c', async () => {
    // Mosquitto expands %c as it is: a device whose clientId were "devA/x" could write
    // $file/devA/x/…, which is device devA's file x. On the devices listener the clientId is
    // the username, which the operator issues without "/" (docs/security.md, point 5), so
    // claiming "devA/x" gets nothing but the device's own topics.
    const claimant = await login('devB', 'devA/x');
    await expect(
      claimant.client.publishAsync('$file/devA/x/init', JSON.stringify({ name: 'x' }), {
        qos: 1,
      }),
    ).rejects.toMatchObject({ code: NOT_AUTHORIZED });
  });
});
