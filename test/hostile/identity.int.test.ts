import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMqftService, waitFor } from '@mqft/test-support';
import { HostileHarness } from './harness.js';

// Issue 14, case 7: identity. In the emqx layout a publish with two `clientid` user properties
// (devB's, then its own) was stored under devB; a Response Topic `$file/victim/abort` made
// mqft publish an abort on the device's behalf; and ingest ran the emqx layout on a broker
// that cannot vouch for the property, without anyone saying so.
describe('hostile device: identity', () => {
  let h: HostileHarness;
  beforeAll(async () => {
    h = await HostileHarness.start();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('two clientid user properties are refused (0x83 not_authorized), not stored under the first', async () => {
    const victim = await h.device('devB-victim');
    expect(await victim.send('$file/shared/init', JSON.stringify({ name: 'v.bin' }))).toMatchObject(
      { reason_code: 0 },
    );
    const attacker = await h.device();
    const forged = await attacker.send('$file/shared/abort', '', {
      clientid: ['devB-victim', attacker.clientId],
    });
    expect(forged).toMatchObject({ reason_code: 0x83, reason_description: 'not_authorized' });
    // The victim's transfer is untouched: its init is still a resume, not "aborted".
    expect(await victim.send('$file/shared/init', JSON.stringify({ name: 'v.bin' }))).toMatchObject(
      { reason_code: 0 },
    );
    await h.afterCase();
  });

  it('a Response Topic under $file/ or the ingest prefix is answered on $file-response/{clientId}', async () => {
    const spy = await h.device('spy');
    const published: string[] = [];
    spy.client.on('message', (topic) => published.push(topic));
    await spy.client.subscribeAsync(['$file/#', '$file-async/#', 'mqft/in/#'], { qos: 1 });
    const attacker = await h.device();
    for (const [i, responseTopic] of [
      '$file/victim/abort',
      '$file-async/victim/abort',
      'mqft/in/$file/victim/abort',
    ].entries()) {
      const topic = `$file/own${i}/init`;
      const result = await attacker.send(topic, JSON.stringify({ name: 'o.bin' }), {
        responseTopic,
      });
      expect(result).toMatchObject({ reason_code: 0, topic });
      const received = attacker.received.find((r) => r.result.topic === topic);
      expect(received?.mqttTopic).toBe(attacker.responseTopic);
    }
    // Only the attacker's own three commands (and their bridged copies) went by: nothing mqft
    // published under a command root.
    await waitFor(() => published.length >= 6, { what: 'the commands seen by the spy' });
    expect(published.filter((t) => t.includes('victim'))).toEqual([]);
    await h.afterCase();
  });

  it('ingest refuses to start the emqx layout without MQFT_TRUST_CLIENTID_PROPERTY', async () => {
    const env = { ...h.stack.env, MQFT_MQTT_CLIENT_ID: `${h.stack.stream}-untrusted` };
    delete (env as Record<string, string>).MQFT_TRUST_CLIENTID_PROPERTY;
    const error = await startMqftService('ingest', env).then(
      async (started) => {
        await started.stop();
        return undefined;
      },
      (err: Error) => err,
    );
    expect(error?.message).toMatch(/MQFT_TRUST_CLIENTID_PROPERTY/);
  });
});
