import { describe, expect, it } from 'vitest';
import { ConfigError } from '@mqft/config';
import { loadIngestConfig } from '../src/config.js';

describe('loadIngestConfig: the emqx layout needs a broker that vouches (issue 14 case 7)', () => {
  it('refuses MQFT_LAYOUT=emqx (the default) without MQFT_TRUST_CLIENTID_PROPERTY', () => {
    expect(() => loadIngestConfig({})).toThrow(ConfigError);
    expect(() => loadIngestConfig({ MQFT_LAYOUT: 'emqx' })).toThrow(/MQFT_LAYOUT=scoped/);
  });

  it('starts emqx with the opt-in, and scoped without it', () => {
    const trusted = loadIngestConfig({ MQFT_TRUST_CLIENTID_PROPERTY: 'true' });
    expect(trusted.layout).toBe('emqx');
    expect(loadIngestConfig({ MQFT_LAYOUT: 'scoped' }).layout).toBe('scoped');
  });
});
