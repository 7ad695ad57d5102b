import { describe, expect, it } from 'vitest';
import { formatBytes, formatRanges } from '../src/format.js';
import { eventsPath, listPath, transferPath } from '../src/paths.js';
import {
  isDownloadable,
  isInFlight,
  isNewer,
  matchesFilter,
  percentDone,
  type Transfer,
} from '../src/transfer.js';

const base: Transfer = {
  client_id: 'dev-1',
  file_id: 'f',
  name: 'f.bin',
  state: 'receiving',
  bytes_confirmed: 0,
  created_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:00:01.000Z',
};

describe('a transfer as the page shows it', () => {
  it('progress: bytes confirmed of the fin size, else of the declared size; complete is 100', () => {
    expect(percentDone(base)).toBeUndefined();
    expect(percentDone({ ...base, declared_size: 400, bytes_confirmed: 100 })).toBe(25);
    expect(percentDone({ ...base, declared_size: 400, size: 200, bytes_confirmed: 100 })).toBe(50);
    expect(percentDone({ ...base, size: 3, bytes_confirmed: 2 })).toBe(66);
    expect(percentDone({ ...base, size: 10, bytes_confirmed: 99 })).toBe(100);
    expect(percentDone({ ...base, size: 0 })).toBe(100);
    expect(percentDone({ ...base, state: 'complete' })).toBe(100);
  });

  it('actions: abort while in flight, download once stored and not deleted', () => {
    expect(isInFlight(base)).toBe(true);
    expect(isInFlight({ ...base, state: 'assembling' })).toBe(true);
    expect(isInFlight({ ...base, state: 'failed' })).toBe(false);
    expect(isDownloadable({ ...base, state: 'complete', location: 'file:///x' })).toBe(true);
    expect(isDownloadable({ ...base, state: 'complete' })).toBe(false);
    expect(isDownloadable({ ...base, location: 'file:///x' })).toBe(false);
  });

  it('filters by client and state; an older event does not replace a newer row', () => {
    expect(matchesFilter(base, { client: '', state: '' })).toBe(true);
    expect(matchesFilter(base, { client: 'dev-1', state: 'receiving' })).toBe(true);
    expect(matchesFilter(base, { client: 'dev-2', state: '' })).toBe(false);
    expect(matchesFilter(base, { client: '', state: 'complete' })).toBe(false);
    const later = { ...base, updated_at: '2026-01-01T00:00:02.000Z' };
    expect(isNewer(later, base)).toBe(true);
    expect(isNewer(base, later)).toBe(false);
    expect(isNewer(base, base)).toBe(true);
  });
});

describe('formatting and paths', () => {
  it('bytes and missing ranges', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1536)).toBe('1.50 KiB');
    expect(formatBytes(600_000)).toBe('586 KiB');
    expect(formatRanges([[0, 1024]])).toBe('0–1023');
    expect(
      formatRanges(
        [
          [0, 1],
          [2, 3],
          [4, 5],
        ],
        2,
      ),
    ).toBe('0–0, 2–2, … 1 more');
  });

  it('ids are percent-encoded path segments; filters are query parameters', () => {
    expect(transferPath('a/b', 'x y?', '/abort')).toBe('api/v1/transfers/a%2Fb/x%20y%3F/abort');
    expect(listPath({ client: 'c 1', state: 'failed' }, 50, 'tok')).toBe(
      'api/v1/transfers?limit=50&client=c+1&state=failed&page_token=tok',
    );
    expect(listPath({ client: '', state: '' }, 50, '')).toBe('api/v1/transfers?limit=50');
    expect(eventsPath({ client: '', state: 'complete' })).toBe('api/v1/events');
    expect(eventsPath({ client: 'd', state: '' })).toBe('api/v1/events?client=d');
  });
});
