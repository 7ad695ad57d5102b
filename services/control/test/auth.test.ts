import { describe, expect, it } from 'vitest';
import { Metadata } from '@grpc/grpc-js';
import {
  bearerToken,
  insecureListenProblem,
  isLoopbackHost,
  TokenAuthenticator,
} from '../src/auth.js';

function metadata(...authorization: string[]): Metadata {
  const m = new Metadata();
  for (const value of authorization) m.add('authorization', value);
  return m;
}

describe('TokenAuthenticator', () => {
  it('lets everything through without tokens', () => {
    const auth = new TokenAuthenticator([]);
    expect(auth.enabled).toBe(false);
    expect(auth.authenticate(metadata())).toBe(true);
  });

  it('accepts any configured token, as a bearer token only', () => {
    const auth = new TokenAuthenticator(['s3cret', 'other-token']);
    expect(auth.enabled).toBe(true);
    expect(auth.authenticate(metadata('Bearer s3cret'))).toBe(true);
    expect(auth.authenticate(metadata('bearer other-token'))).toBe(true);
    expect(auth.authenticate(metadata())).toBe(false);
    expect(auth.authenticate(metadata('Bearer wrong'))).toBe(false);
    expect(auth.authenticate(metadata('Bearer s3cre'))).toBe(false);
    expect(auth.authenticate(metadata('Bearer s3cretX'))).toBe(false);
    expect(auth.authenticate(metadata('s3cret'))).toBe(false);
    expect(auth.authenticate(metadata('Basic s3cret'))).toBe(false);
  });

  it('compares digests of equal length, so any token length is safe to compare', () => {
    const auth = new TokenAuthenticator(['x']);
    expect(auth.accepts('x'.repeat(10_000))).toBe(false);
    expect(auth.accepts('')).toBe(false);
    expect(auth.accepts('x')).toBe(true);
  });

  it('takes the first Bearer value of the header', () => {
    expect(bearerToken(metadata('Basic a', 'Bearer  tok '))).toBe('tok');
    expect(bearerToken(metadata('Bearer'))).toBeUndefined();
  });
});

describe('the loopback rule', () => {
  it('knows loopback addresses', () => {
    for (const host of [
      '127.0.0.1',
      '127.1.2.3',
      '::1',
      '[::1]',
      'localhost',
      '::ffff:127.0.0.1',
      '0:0:0:0:0:0:0:1',
    ]) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
    for (const host of [
      '0.0.0.0',
      '::',
      '10.0.0.1',
      '192.168.1.2',
      'example.com',
      '',
      '128.0.0.1',
    ]) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });

  it('refuses a non-loopback address without tokens unless explicitly allowed', () => {
    expect(insecureListenProblem('0.0.0.0', [], false)).toMatch(/MQFT_API_TOKENS/);
    expect(insecureListenProblem('0.0.0.0', [], true)).toBeUndefined();
    expect(insecureListenProblem('0.0.0.0', ['t'], false)).toBeUndefined();
    expect(insecureListenProblem('127.0.0.1', [], false)).toBeUndefined();
  });
});
