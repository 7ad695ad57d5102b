import type { NatsConnection } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { waitFor } from '@mqft/test-support';
import { watchNatsConnection } from '../src/connection-state.js';

/** A connection whose status iterator fails and which closes with the given outcome. */
function failingConnection(closed: Promise<void | Error>): NatsConnection {
  return {
    // eslint-disable-next-line @typescript-eslint/require-await, require-yield -- fails at once
    status: async function* () {
      throw new Error('status iterator broke');
    },
    closed: () => closed,
  } as unknown as NatsConnection;
}

describe('watchNatsConnection', () => {
  it('logs a failed status watch instead of leaving its rejection unhandled', async () => {
    const errors: string[] = [];
    const logger = {
      info: () => undefined,
      warn: () => undefined,
      error: (_obj: object, msg: string) => void errors.push(msg),
    };
    const changes: boolean[] = [];
    const state = watchNatsConnection(failingConnection(Promise.resolve()), logger, (up) => {
      changes.push(up);
      throw new Error('listener broke');
    });
    await waitFor(() => errors.length === 2, { what: 'both watches to log their failure' });
    expect(errors.sort()).toEqual(['nats close watch failed', 'nats status watch failed']);
    expect(changes).toEqual([false]);
    expect(state.connected).toBe(false);
  });
});
