import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAsync } from 'mqtt';
import {
  MOSQUITTO_ACL_EXAMPLE,
  mosquittoPasswordEntry,
  expectQuiet,
  startMosquitto,
  type ServerHandle,
} from '@mqft/test-support';
import { connectRecording, type RecordingClient } from './mqtt-clients.js';

const NOT_AUTHORIZED = 0x87;

// deploy/mosquitto/acl.example (scoped layout) with passwords: devices write only their own
// commands and read only their own results; only the bridge writes mqft/in/#.
describe('Mosquitto with acl.example', () => {
  let broker: ServerHandle;
  const clients: RecordingClient[] = [];
  const login = async (user: string): Promise<RecordingClient> => {
    const client = await connectRecording(broker.url, user, {
      username: user,
      password: `${user}-pw`,
    });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    const users = ['dev1', 'dev2', 'mqft-bridge', 'mqft-ingest', 'mqft-assembler'];
    const passwordFile = path.join(await fsp.mkdtemp(path.join(os.tmpdir(), 'mqft-pw-')), 'passwd');
    await fsp.writeFile(
      passwordFile,
      users.map((u) => mosquittoPasswordEntry(u, `${u}-pw`)).join('\n') + '\n',
    );
    broker = await startMosquitto({
      aclFile: MOSQUITTO_ACL_EXAMPLE,
      passwordFile,
      // Lands in the bridge section: the bridge logs in like any client.
      extraConfig: 'remote_username mqft-bridge\nremote_password mqft-bridge-pw',
    });
    // Mosquitto has read it at start-up.
    await fsp.rm(path.dirname(passwordFile), { recursive: true, force: true });
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await broker?.stop();
  });

  it('refuses anonymous clients and wrong passwords', async () => {
    const refused = { protocolVersion: 5 as const, reconnectPeriod: 0, clientId: 'dev1' };
    await expect(connectAsync(broker.url, refused)).rejects.toThrow(/Not authorized/i);
    await expect(
      connectAsync(broker.url, { ...refused, username: 'dev1', password: 'wrong' }),
    ).rejects.toThrow(/Bad User Name or Password|Not authorized/i);
  });

  it('lets a device send only its own commands, and only the bridge feed ingest', async () => {
    const ingest = await login('mqft-ingest');
    const granted = await ingest.client.subscribeAsync('$share/ft/mqft/in/$file/#', { qos: 1 });
    expect(granted[0]?.qos).toBe(1);
    const dev1 = await login('dev1');

    await dev1.client.publishAsync('$file/dev1/f1/init', Buffer.from('{"name":"a"}'), { qos: 1 });
    await expect(
      dev1.client.publishAsync('$file/dev2/f1/init', Buffer.from('{"name":"b"}'), { qos: 1 }),
    ).rejects.toMatchObject({ code: NOT_AUTHORIZED });
    await expect(
      dev1.client.publishAsync('mqft/in/$file/dev2/f2/init', Buffer.from('{"name":"c"}'), {
        qos: 1,
      }),
    ).rejects.toMatchObject({ code: NOT_AUTHORIZED });
    await dev1.client.publishAsync('$file/dev1/last/init', Buffer.from('{"name":"d"}'), { qos: 1 });

    await ingest.next('mqft/in/$file/dev1/last/init');
    await expectQuiet(200, () =>
      expect(ingest.received.map((m) => m.topic)).toEqual([
        'mqft/in/$file/dev1/f1/init',
        'mqft/in/$file/dev1/last/init',
      ]),
    );
  });

  it('lets a device read only its own results, written by the services', async () => {
    const dev2 = await login('dev2');
    const own = await dev2.client.subscribeAsync('$file-response/dev2', { qos: 1 });
    expect(own[0]?.qos).toBe(1);
    // Measured on 2.0.11: the subscription is granted; the ACL filters on delivery instead.
    await dev2.client.subscribeAsync('$file-response/dev1', { qos: 1 });

    const assembler = await login('mqft-assembler');
    const result = Buffer.from('{"vsn":"0.1","reason_code":0}');
    await assembler.client.publishAsync('$file-response/dev1', result, { qos: 1 });
    await assembler.client.publishAsync('$file-response/dev2', result, { qos: 1 });
    expect((await dev2.next('$file-response/dev2')).payload.equals(result)).toBe(true);
    await expectQuiet(200, () =>
      expect(dev2.received.map((m) => m.topic)).toEqual(['$file-response/dev2']),
    );
  });
});
