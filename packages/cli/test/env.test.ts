import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLI_VARIABLES, envReader } from '../src/env.js';
import { apiConnection } from '../src/transfers-command.js';
import { TRANSFERS_USAGE } from '../src/transfers-usage.js';
import { UPLOAD_USAGE, parseUploadArgs } from '../src/upload-args.js';

function reader(env: Record<string, string>) {
  const warnings: string[] = [];
  return { env: envReader(env, (line) => warnings.push(line)), warnings };
}

const upload = (env: Record<string, string>, ...flags: string[]) => {
  const { env: read, warnings } = reader(env);
  const args = parseUploadArgs(['f.bin', '--client-id', 'dev', ...flags], read);
  if (args === 'help') throw new Error('unexpected help');
  return { args, warnings };
};

const api = (env: Record<string, string>, values: { api?: string; token?: string } = {}) => {
  const { env: read, warnings } = reader(env);
  return { connection: apiConnection({ tls: false, ca: undefined, ...values }, read), warnings };
};

describe('the CLI reads the services’ variable names', () => {
  it('mqft upload: MQFT_MQTT_URL, MQFT_MQTT_USERNAME, MQFT_MQTT_PASSWORD, silently', () => {
    const { args, warnings } = upload({
      MQFT_MQTT_URL: 'mqtts://broker:8883',
      MQFT_MQTT_USERNAME: 'dev-user',
      MQFT_MQTT_PASSWORD: 'pw',
    });
    expect(args).toMatchObject({
      broker: 'mqtts://broker:8883',
      username: 'dev-user',
      password: 'pw',
    });
    expect(warnings).toEqual([]);
  });

  it('options win over the environment, which is then not read', () => {
    const { args, warnings } = upload(
      { MQFT_BROKER: 'mqtt://old:1883', MQFT_MQTT_USERNAME: 'env-user' },
      '--broker',
      'mqtt://flag:1883',
      '--username',
      'flag-user',
    );
    expect(args).toMatchObject({ broker: 'mqtt://flag:1883', username: 'flag-user' });
    expect(warnings).toEqual([]);
  });

  it('defaults when nothing is set, and an empty variable counts as unset', () => {
    const { args, warnings } = upload({ MQFT_MQTT_URL: '', MQFT_MQTT_PASSWORD: '' });
    expect(args).toMatchObject({ broker: 'mqtt://127.0.0.1:1883', password: undefined });
    expect(warnings).toEqual([]);
    expect(api({}).connection).toMatchObject({ address: '127.0.0.1:50051', token: undefined });
  });

  it('mqft transfers: MQFT_GRPC_ADDR and the first of MQFT_API_TOKENS', () => {
    const { connection, warnings } = api({
      MQFT_GRPC_ADDR: 'control:50051',
      MQFT_API_TOKENS: ' ,tok-1, tok-2',
    });
    expect(connection).toMatchObject({ address: 'control:50051', token: 'tok-1' });
    expect(warnings).toEqual([]);
    expect(api({ MQFT_API_TOKENS: 'x' }, { api: 'a:1', token: 'flag' }).connection).toMatchObject({
      address: 'a:1',
      token: 'flag',
    });
  });
});

describe('the old names still work, with a warning naming the new one', () => {
  it('MQFT_BROKER and MQFT_PASSWORD', () => {
    const { args, warnings } = upload({ MQFT_BROKER: 'mqtt://old:1883', MQFT_PASSWORD: 'old' });
    expect(args).toMatchObject({ broker: 'mqtt://old:1883', password: 'old' });
    expect(warnings).toEqual([
      'mqft: MQFT_BROKER is deprecated; set MQFT_MQTT_URL instead\n',
      'mqft: MQFT_PASSWORD is deprecated; set MQFT_MQTT_PASSWORD instead\n',
    ]);
  });

  it('MQFT_API and MQFT_API_TOKEN', () => {
    const { connection, warnings } = api({ MQFT_API: 'old:50051', MQFT_API_TOKEN: 'old-token' });
    expect(connection).toMatchObject({ address: 'old:50051', token: 'old-token' });
    expect(warnings).toEqual([
      'mqft: MQFT_API is deprecated; set MQFT_GRPC_ADDR instead\n',
      'mqft: MQFT_API_TOKEN is deprecated; set MQFT_API_TOKENS instead\n',
    ]);
  });

  it('the new name wins when both are set, and the old one is reported as ignored', () => {
    const { args, warnings } = upload({ MQFT_MQTT_URL: 'mqtt://new:1883', MQFT_BROKER: 'x' });
    expect(args.broker).toBe('mqtt://new:1883');
    expect(warnings).toEqual([
      'mqft: MQFT_BROKER is ignored: MQFT_MQTT_URL is set (and replaces it)\n',
    ]);
  });
});

describe('help names the new variables only as the ones to set', () => {
  it('upload', () => {
    for (const name of ['MQFT_MQTT_URL', 'MQFT_MQTT_USERNAME', 'MQFT_MQTT_PASSWORD']) {
      expect(UPLOAD_USAGE).toContain(`env ${name}`);
    }
    expect(UPLOAD_USAGE).not.toMatch(/env MQFT_(BROKER|PASSWORD)\b/);
  });

  it('transfers', () => {
    for (const name of ['MQFT_GRPC_ADDR', 'MQFT_API_TOKENS']) {
      expect(TRANSFERS_USAGE).toContain(`env ${name}`);
    }
    expect(TRANSFERS_USAGE).not.toMatch(/env MQFT_API(_TOKEN)?[;)]/);
  });
});

describe('docs/cli.md', () => {
  it('lists every variable the CLI reads, with its earlier name', () => {
    const doc = readFileSync(new URL('../../../docs/cli.md', import.meta.url), 'utf8');
    for (const variable of Object.values(CLI_VARIABLES)) {
      const row = doc.split('\n').find((line) => line.startsWith(`| \`${variable.name}\``));
      expect(row, variable.name).toBeDefined();
      if ('oldName' in variable) expect(row).toContain(`\`${variable.oldName}\``);
    }
  });
});
