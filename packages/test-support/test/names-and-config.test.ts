import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bucketName, MOSQUITTO_CONF, renderMosquittoConfig, uniqueName } from '../src/index.js';

const options = (text: string, key: string): string[] =>
  text
    .split('\n')
    .filter((line) => line.trim().split(/\s+/)[0] === key)
    .map((line) => line.trim());

describe('uniqueName / bucketName', () => {
  it('makes NATS- and Redis-safe names that differ every time', () => {
    const names = Array.from({ length: 1000 }, () => uniqueName('MQFT.T x'));
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^MQFT_T_x_[0-9]+_[0-9a-z]+_[0-9a-z]+$/);
  });

  it('makes valid S3 bucket names, even from long or odd prefixes', () => {
    for (const prefix of ['mqft-t', 'A_B.c', '', '-', 'x'.repeat(100)]) {
      const name = bucketName(prefix);
      expect(name).toMatch(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/);
    }
    expect(bucketName('mqft')).not.toBe(bucketName('mqft'));
  });
});

describe('renderMosquittoConfig', () => {
  const deployed = fs.readFileSync(MOSQUITTO_CONF, 'utf8');

  it('points the listener and the bridge at the free port, loopback only', () => {
    const config = renderMosquittoConfig(deployed, { port: 40123, dir: '/tmp/m' });
    expect(options(config, 'listener')).toEqual(['listener 40123 127.0.0.1']);
    expect(options(config, 'address')).toEqual(['address 127.0.0.1:40123']);
    expect(options(config, 'persistence')).toEqual(['persistence false']);
    expect(options(config, 'persistence_location')).toEqual(['persistence_location /tmp/m/']);
    expect(options(config, 'allow_anonymous')).toEqual(['allow_anonymous true']);
    // the bridge of docs/protocol.md, unchanged
    expect(options(config, 'topic')).toEqual([
      'topic # out 1 $file/ mqft/in/$file/',
      'topic # out 1 $file-async/ mqft/in/$file-async/',
    ]);
    expect(options(config, 'bridge_protocol_version')).toEqual(['bridge_protocol_version mqttv50']);
  });

  it('keeps max_inflight_messages positive (0 breaks the MQTT 5 bridge)', () => {
    const [line] = options(deployed, 'max_inflight_messages');
    expect(Number(line?.split(/\s+/)[1])).toBeGreaterThan(0);
  });

  it('drops the bridge, adds auth and puts extraConfig last on request', () => {
    const config = renderMosquittoConfig(deployed, {
      port: 1,
      dir: '/d',
      bridge: false,
      persistence: true,
      aclFile: '/acl',
      passwordFile: '/pw',
      extraConfig: 'max_keepalive 30',
    });
    expect(options(config, 'connection')).toEqual([]);
    expect(options(config, 'topic')).toEqual([]);
    expect(options(config, 'persistence')).toEqual(['persistence true']);
    expect(options(config, 'acl_file')).toEqual(['acl_file /acl']);
    expect(options(config, 'password_file')).toEqual(['password_file /pw']);
    expect(options(config, 'allow_anonymous')).toEqual(['allow_anonymous false']);
    expect(config.trimEnd().endsWith('max_keepalive 30')).toBe(true);
  });
});
