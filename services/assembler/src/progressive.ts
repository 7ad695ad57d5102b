import { assembleProgressively, Wakeup } from './assemble-progressive.js';
import type { AssemblerContext } from './context.js';

/**
 * How soon recordSegment may offer the same transfer for progressive assembly again (kept in
 * Redis, `progAt`): a transfer with a gap at 0, or offered while every slot was taken, is not
 * offered on every segment.
 */
export const PROGRESSIVE_OFFER_EVERY_MS = 2000;

/**
 * The progressive assemblies of one assembler (assemble-progressive.ts), with slots of their own
 * (MQFT_PROGRESSIVE_CONCURRENCY), so that transfers waiting for more bytes never hold the room
 * of assemblies whose fin came. A transfer whose holder runs here is woken by the segments and
 * the fin this process records. `onEnd` gets a transfer whose progressive assembly ended
 * without finishing while its fin is recorded: the normal assembly's turn.
 */
export class ProgressiveAssemblies {
  private readonly running = new Map<string, Wakeup>();
  private readonly tasks = new Set<Promise<void>>();
  private readonly shutdown = new AbortController();
  private draining = false;

  constructor(
    private readonly ctx: AssemblerContext,
    private readonly onEnd: (key: string) => void,
  ) {}

  get active(): number {
    return this.running.size;
  }

  /** recordSegment says the transfer wants progressive assembly: taken if a slot is free. */
  offer(key: string): void {
    if (this.draining || this.running.has(key)) return;
    if (this.running.size >= this.ctx.config.progressiveConcurrency) return;
    const wakeup = new Wakeup();
    this.running.set(key, wakeup);
    this.ctx.metrics.progressiveActive.set(this.running.size);
    const task: Promise<void> = this.run(key, wakeup)
      .catch((err: unknown) => {
        this.ctx.logger.error({ err, key }, 'progressive assembly failed');
        return false;
      })
      .then((assemble) => {
        this.running.delete(key);
        this.ctx.metrics.progressiveActive.set(this.running.size);
        if (assemble && !this.draining) this.onEnd(key);
      })
      .finally(() => this.tasks.delete(task));
    this.tasks.add(task);
  }

  /** Wakes the transfer's holder if it runs here; true if it does (it will finish the fin). */
  wake(key: string): boolean {
    const wakeup = this.running.get(key);
    wakeup?.wake();
    return wakeup !== undefined;
  }

  /** True when the fin's normal assembly should be asked for. */
  private async run(key: string, wakeup: Wakeup): Promise<boolean> {
    const { store, config, owner, metrics } = this.ctx;
    const taken = await store.acquireProgressive(key, owner, config.leaseTtl, Date.now());
    if (taken.status !== 'acquired') {
      // A fin recorded meanwhile (its request only woke this slot): the assembly's turn now.
      return taken.status === 'not_ready' && (await store.finSize(key)) !== undefined;
    }
    const { end, result } = await assembleProgressively(
      this.ctx,
      taken.lease,
      wakeup,
      this.shutdown.signal,
    );
    metrics.progressiveEnds.inc({ end });
    if (result) metrics.assemblies.inc({ result });
    if (end === 'finished' || end === 'lease_lost') return false;
    if (end === 'handed_over') {
      // Another replica takes it at once if its fin is there; else its segments offer it again.
      if ((await store.finSize(key)) !== undefined)
        await this.ctx.due.scheduleCheck(key, Date.now());
      return false;
    }
    return (await store.finSize(key)) !== undefined;
  }

  /** Stops every progressive assembly now (their uploads aborted, leases given back). */
  async stop(): Promise<void> {
    this.draining = true;
    this.shutdown.abort(new Error('shutting down'));
    await Promise.allSettled([...this.tasks]);
  }
}
