import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mqttTlsOptions } from '../src/index.js';

describe('mqttTlsOptions', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mqft-tls-opts-'));
  const file = (name: string, text: string) => {
    const p = path.join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('always verifies the broker, with or without files', () => {
    expect(mqttTlsOptions(undefined)).toEqual({ rejectUnauthorized: true });
    expect(mqttTlsOptions({})).toEqual({ rejectUnauthorized: true });
  });

  it('reads the contents of the CA, certificate and key files', () => {
    const options = mqttTlsOptions({
      ca: file('ca.pem', 'CA'),
      cert: file('cert.pem', 'CERT'),
      key: file('key.pem', 'KEY'),
    });
    expect(options.rejectUnauthorized).toBe(true);
    expect(String(options.ca)).toBe('CA');
    expect(String(options.cert)).toBe('CERT');
    expect(String(options.key)).toBe('KEY');
  });

  it('refuses a certificate without its key and the other way round', () => {
    expect(() => mqttTlsOptions({ cert: file('c.pem', 'C') })).toThrow(/both/);
    expect(() => mqttTlsOptions({ key: file('k.pem', 'K') })).toThrow(/both/);
  });

  it('names the file it cannot read', () => {
    expect(() => mqttTlsOptions({ ca: path.join(dir, 'nope.pem') })).toThrow(
      /MQTT TLS CA file .*nope\.pem/,
    );
  });
});
