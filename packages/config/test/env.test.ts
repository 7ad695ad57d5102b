import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  MQFT_VARIABLES,
  loadConfig,
  parseByteSize,
  parseDuration,
  vars,
} from '../src/index.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['3s', 3000],
    ['2m', 120_000],
    ['24h', 86_400_000],
    ['1500', 1500],
  ])('reads %s', (text, expected) => expect(parseDuration(text)).toBe(expected));
  it.each(['', 'soon', '-3s', '3 parsecs'])('rejects %j', (text) =>
    expect(parseDuration(text)).toBeUndefined(),
  );
});

describe('parseByteSize', () => {
  it.each([
    ['65536', 65536],
    ['64KiB', 65536],
    ['16MiB', 16 * 2 ** 20],
    ['64GiB', 64 * 2 ** 30],
    ['1GB', 1e9],
  ])('reads %s', (text, expected) => expect(parseByteSize(text)).toBe(expected));
  it.each(['', 'lots', '12 parsecs', '-1'])('rejects %j', (text) =>
    expect(parseByteSize(text)).toBeUndefined(),
  );
});

describe('loadConfig', () => {
  const schema = {
    natsUrl: MQFT_VARIABLES.natsUrl,
    finGrace: MQFT_VARIABLES.finGrace,
    layout: MQFT_VARIABLES.layout,
    connections: MQFT_VARIABLES.ingestConnections,
    subscription: MQFT_VARIABLES.mqttSubscription,
    grpcAddr: MQFT_VARIABLES.grpcAddr,
  };

  it('applies the documented defaults', () => {
    expect(loadConfig(schema, {})).toEqual({
      natsUrl: 'nats://127.0.0.1:4222',
      finGrace: 30_000,
      layout: 'emqx',
      connections: 4,
      subscription: ['$share/ft/$file/#', '$share/ft/$file-async/#'],
      grpcAddr: { host: '127.0.0.1', port: 50051 },
    });
  });

  it('reads several NATS servers', () => {
    const config = loadConfig(schema, { MQFT_NATS_URL: 'nats://a:4222,nats://b:4222' });
    expect(config.natsUrl).toBe('nats://a:4222,nats://b:4222');
  });

  it('reports every problem at once, naming the variable', () => {
    const env = {
      MQFT_NATS_URL: 'http://x',
      MQFT_FIN_GRACE: 'soon',
      MQFT_LAYOUT: 'flat',
      MQFT_INGEST_CONNECTIONS: '0',
    };
    let error: unknown;
    try {
      loadConfig(schema, env);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(4);
    expect(problems.join('\n')).toMatch(
      /MQFT_NATS_URL="http:\/\/x": scheme http: is not one of nats:, tls:/,
    );
    expect(problems.join('\n')).toMatch(/MQFT_FIN_GRACE="soon": expected a duration/);
    expect(problems.join('\n')).toMatch(/MQFT_LAYOUT="flat": expected one of emqx, scoped/);
    expect(problems.join('\n')).toMatch(
      /MQFT_INGEST_CONNECTIONS="0": expected a whole number from 1/,
    );
  });

  it('never echoes a secret or URL credentials, and cuts long values (issue 14 case 10)', () => {
    const secrets = {
      redis: vars.url('MQFT_REDIS_URL', 'redis://x', 'r', ['redis:']),
      password: vars.integer('MQFT_MQTT_PASSWORD', '1', 'p', 1),
      long: vars.integer('MQFT_LONG', '1', 'l', 1),
    };
    let error: unknown;
    try {
      loadConfig(secrets, {
        MQFT_REDIS_URL: 'http://admin:s3cret@redis:6379',
        MQFT_MQTT_PASSWORD: 'hunter2',
        MQFT_LONG: 'x'.repeat(10_000),
      });
    } catch (err) {
      error = err;
    }
    const message = (error as ConfigError).message;
    expect(message).not.toMatch(/s3cret|hunter2/);
    expect(message).toMatch(/MQFT_REDIS_URL="http:\/\/\[redacted\]@redis:6379": scheme http:/);
    expect(message).toMatch(/MQFT_MQTT_PASSWORD=\[redacted\]: expected a whole number/);
    expect(message.length).toBeLessThan(1_000);
  });

  it('requires variables without a default', () => {
    const required = { token: vars.string('MQFT_X', undefined, 'a thing') };
    expect(() => loadConfig(required, {})).toThrow(/MQFT_X is required: a thing/);
  });

  it('rejects a malformed listen address', () => {
    expect(() => loadConfig(schema, { MQFT_GRPC_ADDR: 'localhost' })).toThrow(/expected host:port/);
  });
});

describe('URL lists', () => {
  const schema = { redisUrl: MQFT_VARIABLES.redisUrl, natsUrl: MQFT_VARIABLES.natsUrl };
  it('reads a Redis Cluster seed list whose later seeds are host:port', () => {
    expect(
      loadConfig(schema, { MQFT_REDIS_URL: 'redis+cluster://a:7000,b:7001,c:7002' }).redisUrl,
    ).toBe('redis+cluster://a:7000,b:7001,c:7002');
  });
  it('still checks every URL of a list of full URLs', () => {
    expect(() => loadConfig(schema, { MQFT_NATS_URL: 'nats://a:4222,http://b:4222' })).toThrow(
      /scheme http:/,
    );
  });
});
