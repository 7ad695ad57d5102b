import { describe, expect, it } from 'vitest';
import { TokenAuthenticator } from '../src/auth.js';
import { authenticateHttp, httpToken } from '../src/http/auth.js';
import { HttpError } from '../src/http/errors.js';
import { attachment } from '../src/http/respond.js';
import { Router, type Route } from '../src/http/router.js';

const basic = (text: string) => ({
  authorization: `Basic ${Buffer.from(text).toString('base64')}`,
});

describe('HTTP tokens', () => {
  it('reads Bearer, and Basic as <key>:<token> or <token>:', () => {
    expect(httpToken({ authorization: 'Bearer abc' })).toBe('abc');
    expect(httpToken({ authorization: 'bearer  abc ' })).toBe('abc');
    expect(httpToken(basic('key:secret'))).toBe('secret');
    expect(httpToken(basic('secret:'))).toBe('secret');
    expect(httpToken(basic('key:sec:ret'))).toBe('sec:ret');
    for (const bad of [basic(':'), basic('nocolon'), { authorization: 'Token x' }, {}])
      expect(httpToken(bad)).toBeUndefined();
  });

  it('lets everything through without tokens; else only an accepted one', () => {
    expect(authenticateHttp(new TokenAuthenticator([]), {})).toBe(true);
    const auth = new TokenAuthenticator(['t1']);
    expect(authenticateHttp(auth, {})).toBe(false);
    expect(authenticateHttp(auth, basic('k:t1'))).toBe(true);
    expect(authenticateHttp(auth, basic('t1:x'))).toBe(false);
  });
});

describe('HTTP routes', () => {
  const route = (method: Route['method'], template: string): Route => ({
    method,
    template,
    handle: () => Promise.resolve(),
  });
  const router = new Router([
    route('GET', '/api/v1/transfers/{clientId}/{fileId}'),
    route('POST', '/api/v1/transfers/{clientId}/{fileId}/abort'),
    route('GET', '/console/*'),
  ]);

  it('matches templates on the raw path and percent-decodes each parameter once', () => {
    expect(router.match('GET', '/api/v1/transfers/a%2Fb/%00')).toMatchObject({
      params: { clientId: 'a/b', fileId: '\0' },
    });
    expect(router.match('GET', '/api/v1/transfers/a/b/c')).toBeUndefined();
    expect(router.match('GET', '/api/v1/transfers//b')).toBeUndefined();
    expect(router.match('GET', '/console/assets/x.js')).toMatchObject({
      params: { '*': 'assets/x.js' },
    });
    expect(router.match('HEAD', '/api/v1/transfers/a/b')).toMatchObject({
      params: { clientId: 'a' },
    });
    expect(router.match('DELETE', '/api/v1/transfers/a/b/abort')).toEqual({ allowed: ['POST'] });
  });

  it('a malformed escape is a 400', () => {
    expect(() => router.match('GET', '/api/v1/transfers/%E0%A4%A/b')).toThrow(HttpError);
  });

  it('content-disposition carries the exact name and a safe ASCII fallback', () => {
    expect(attachment('a "b".bin')).toBe(
      `attachment; filename="a _b_.bin"; filename*=UTF-8''a%20%22b%22.bin`,
    );
    expect(attachment('ü(1).txt')).toBe(
      `attachment; filename="_(1).txt"; filename*=UTF-8''%C3%BC%281%29.txt`,
    );
  });
});
