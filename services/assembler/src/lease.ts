import type { Lease, TransferStore } from '@mqft/state';

/**
 * Keeps an assembly lease alive while the work runs, renewing at a third of its TTL. When a
 * renewal finds the lease taken (this process stalled past the TTL and another assembler
 * took over), `signal` aborts so the work stops before it can complete anything.
 */
export class LeaseKeeper {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly store: TransferStore,
    readonly lease: Lease,
    private readonly ttlMs: number,
    onError: (err: unknown) => void,
  ) {
    this.timer = setInterval(
      () => {
        this.renew().catch(onError);
      },
      Math.max(250, Math.floor(ttlMs / 3)),
    );
    this.timer.unref();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Renews now; false (and the signal aborted) when the lease is no longer ours. */
  async renew(): Promise<boolean> {
    if (this.controller.signal.aborted) return false;
    const ours = await this.store.renewLease(this.lease, this.ttlMs);
    if (!ours) this.controller.abort(new Error('assembly lease lost'));
    return ours;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
