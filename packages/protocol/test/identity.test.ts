import { describe, expect, it } from 'vitest';
import { ANONYMOUS_CLIENT_ID, resolveClientId, type IdentityInput } from '../src/index.js';

function resolvedId(input: IdentityInput) {
  const result = resolveClientId(input);
  if (!result.ok) throw new Error(`expected an identity, got ${result.error.message}`);
  return { clientId: result.clientId, anonymous: result.anonymous };
}

function refused(input: IdentityInput) {
  const result = resolveClientId(input);
  if (result.ok) throw new Error(`expected a refusal, got ${result.clientId}`);
  expect(result.error.reason).toBe('not_authorized');
  expect(result.error.code).toBe(0x83);
  return result.error;
}

describe('resolveClientId, emqx layout', () => {
  it('takes the user property clientid', () => {
    expect(resolvedId({ layout: 'emqx', userProperties: { clientid: 'dev1' } })).toEqual({
      clientId: 'dev1',
      anonymous: false,
    });
  });

  it('refuses a repeated clientid property (issue 14 case 7), in either layout', () => {
    const userProperties = { clientid: ['devB', 'dev1'] };
    expect(refused({ layout: 'emqx', userProperties }).message).toMatch(/2 user properties/);
    refused({ layout: 'scoped', topicClientId: 'dev1', userProperties });
    expect(resolvedId({ layout: 'emqx', userProperties: { clientid: ['dev1'] } }).clientId).toBe(
      'dev1',
    );
  });

  it('prefers the property to the Response Topic', () => {
    const input: IdentityInput = {
      layout: 'emqx',
      userProperties: { clientid: 'dev1' },
      responseTopic: '$file-response/dev2',
    };
    expect(resolvedId(input).clientId).toBe('dev1');
  });

  it('falls back to a Response Topic $file-response/{clientId}', () => {
    expect(resolvedId({ layout: 'emqx', responseTopic: '$file-response/dev2' })).toEqual({
      clientId: 'dev2',
      anonymous: false,
    });
    // The rest of the topic, whole: some brokers allow `/` in a clientId.
    expect(resolvedId({ layout: 'emqx', responseTopic: '$file-response/a/b' }).clientId).toBe(
      'a/b',
    );
  });

  it('ignores other properties and other Response Topics', () => {
    const input: IdentityInput = {
      layout: 'emqx',
      userProperties: { clientId: 'wrong-case', other: 'x' },
      responseTopic: 'replies/dev3',
    };
    expect(resolvedId(input)).toEqual({ clientId: ANONYMOUS_CLIENT_ID, anonymous: true });
    expect(resolvedId({ layout: 'emqx', responseTopic: '$file-response/' }).anonymous).toBe(true);
    expect(resolvedId({ layout: 'emqx', responseTopic: '$file-responsex/d' }).anonymous).toBe(true);
  });

  it('with no identity at all, puts the transfer in the anonymous namespace', () => {
    expect(resolvedId({ layout: 'emqx' })).toEqual({ clientId: '\u0000', anonymous: true });
    expect(resolvedId({ layout: 'emqx', userProperties: {} }).anonymous).toBe(true);
    expect(resolvedId({ layout: 'emqx', userProperties: { clientid: [] } }).anonymous).toBe(true);
  });

  it('ignores a topic clientId (there is none in this layout)', () => {
    expect(resolvedId({ layout: 'emqx', topicClientId: 'x' }).anonymous).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['U+0000 (the anonymous namespace)', '\u0000'],
    ['containing U+0000', 'a\u0000b'],
    ['over 65535 bytes', 'x'.repeat(65_536)],
    ['a lone surrogate', '\ud800'],
  ])('refuses a clientid property that is %s', (_name, clientid) => {
    refused({ layout: 'emqx', userProperties: { clientid } });
  });

  it('accepts a clientid of exactly 65535 bytes', () => {
    const clientid = 'x'.repeat(65_535);
    expect(resolvedId({ layout: 'emqx', userProperties: { clientid } }).clientId).toBe(clientid);
  });
});

describe('resolveClientId, scoped layout', () => {
  it('takes the clientId topic level', () => {
    expect(resolvedId({ layout: 'scoped', topicClientId: 'dev1' })).toEqual({
      clientId: 'dev1',
      anonymous: false,
    });
  });

  it('accepts a clientid property that agrees', () => {
    const input: IdentityInput = {
      layout: 'scoped',
      topicClientId: 'dev1',
      userProperties: { clientid: 'dev1' },
    };
    expect(resolvedId(input).clientId).toBe('dev1');
  });

  it('refuses a clientid property that differs from the topic', () => {
    refused({ layout: 'scoped', topicClientId: 'dev1', userProperties: { clientid: 'dev2' } });
    refused({ layout: 'scoped', topicClientId: 'dev1', userProperties: { clientid: ['dev2'] } });
  });

  it('does not take identity from the Response Topic', () => {
    const input: IdentityInput = {
      layout: 'scoped',
      topicClientId: 'dev1',
      responseTopic: '$file-response/dev2',
    };
    expect(resolvedId(input).clientId).toBe('dev1');
  });

  it('refuses a missing or unusable topic clientId', () => {
    refused({ layout: 'scoped' });
    refused({ layout: 'scoped', responseTopic: '$file-response/dev2' });
    refused({ layout: 'scoped', topicClientId: '' });
    refused({ layout: 'scoped', topicClientId: 'a\u0000' });
  });
});
