import { sleep } from '@mqft/config';
import type { Lease, TransferRecord } from '@mqft/state';
import type { AssemblerContext, AssemblyAtFin, AtFinReservation, LeasedAtFin } from './context.js';
import { AssemblyAdmission } from './admission.js';
import { assembleTransfer, type KnownFacts } from './assemble.js';
import { failTransfer, permanentCause } from './failure.js';
import { checkCoverage } from './plan.js';
import { ProgressiveAssemblies } from './progressive.js';
import { replyToFin } from './results.js';
import { LISTED_SEGMENTS, ListedSegments } from './segment-snapshot.js';
import { storeCompletion } from './store-completion.js';

/** How often each assembler looks at the due index (fin graces, watchdogs, retries). */
export const SWEEP_INTERVAL_MS = 1000;
/** Due transfers one sweep claims at most (each is admitted or deferred by its size). */
const SWEEP_BATCH = 16;
/** A transfer without room now is due again after this (any assembler may take it). */
const DEFER_MS = 250;
/**
 * A failed attempt whose lease was no longer ours (or whose transfer completed meanwhile) is
 * looked at again after this, to finish what is left.
 */
const RETRY_AFTER_FAILURE_MS = 3000;
/** How often handing a failed attempt's lease back is tried while Redis is unavailable. */
const HAND_BACK_RETRY_MS = 500;

/**
 * Runs assemblies with bounded concurrency (AssemblyAdmission: large files by count, small
 * ones by bytes). Requests come from the recording handlers (a transfer just became ready) and
 * from the due index, which every assembler sweeps: fin graces that ran out, leases of
 * assemblers that died, retries after storage errors. A request beyond this process's capacity
 * goes to the due index, where any assembler may take it.
 */
export class AssemblyScheduler implements AssemblyAtFin {
  private readonly running = new Map<string, Promise<void>>();
  /** Keys reserved by a fin's recorder (reserve), not yet leased or given back. */
  private readonly reserved = new Set<string>();
  /** Reserved keys requested meanwhile: requested again when the reservation ends unleased. */
  private readonly requestedWhileReserved = new Set<string>();
  private readonly shutdown = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  /** The sweep in flight, if any. */
  private sweeping: Promise<void> | undefined;
  /** Requests sent to the due index, not yet written there. */
  private readonly deferring = new Set<Promise<void>>();
  private draining = false;
  private readonly admission: AssemblyAdmission;

  /** Assemblies before fin, with slots of their own (MQFT_PROGRESSIVE_CONCURRENCY). */
  readonly progressive: ProgressiveAssemblies;

  constructor(private readonly ctx: AssemblerContext) {
    this.admission = new AssemblyAdmission(
      ctx.config.assemblyConcurrency,
      ctx.config.storagePartSize,
    );
    this.progressive = new ProgressiveAssemblies(ctx, (key) => this.request(key));
  }

  get active(): number {
    return this.running.size;
  }

  start(): void {
    this.timer = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
  }

  request(key: string): void {
    // Its progressive holder runs here: it sees the fin at once and finishes the transfer.
    if (this.progressive.wake(key)) return;
    if (this.running.has(key)) {
      // A segment recorded 'ready' while the fin's script (which saw it not ready) runs: asked
      // again once that fin gives its reservation back, or it would wait for the fin grace.
      if (this.reserved.has(key)) this.requestedWhileReserved.add(key);
      return;
    }
    if (this.draining || this.running.size >= this.admission.capacity) {
      const deferred: Promise<void> = this.ctx.due
        .scheduleCheck(key, Date.now())
        .catch((err: unknown) => this.ctx.logger.error({ err, key }, 'could not schedule'))
        .finally(() => this.deferring.delete(deferred));
      this.deferring.add(deferred);
      return;
    }
    this.track(key, this.attempt(key));
  }

  /**
   * Room for a small file's assembly, taken before its fin is recorded: that script then
   * takes the lease too, and hands over everything the assembly reads (record/fin.ts). None
   * while draining, for a key already running or without room (then the fin only records, and
   * requestAssembly admits as usual).
   */
  reserve(key: string, size: number): AtFinReservation | undefined {
    if (this.draining || this.running.has(key) || this.running.size >= this.admission.capacity)
      return undefined;
    if (size > this.ctx.config.storagePartSize) return undefined;
    const admitted = this.admission.tryAdmit(size);
    if (!admitted) return undefined;
    let ended!: () => void;
    this.track(key, new Promise<void>((resolve) => (ended = resolve)));
    this.reserved.add(key);
    let settled = false;
    const end = () => {
      if (settled) return;
      settled = true;
      this.reserved.delete(key);
      this.admission.release(admitted);
      ended();
    };
    let started = false;
    return {
      run: (leased) => {
        started = true;
        // Leased: whatever asked for it meanwhile is this assembly.
        this.reserved.delete(key);
        this.requestedWhileReserved.delete(key);
        this.assembleLeasedAtFin(leased)
          .catch((err: unknown) => {
            this.ctx.logger.error(
              { err, key },
              'assembly attempt failed; the due index retries it',
            );
          })
          .finally(end);
      },
      // After run(), the room is the assembly's until it ends.
      cancel: () => {
        if (!started) end();
      },
    };
  }

  /** Runs `work` as the assembly of `key`, counted in the room until it ends. */
  private track(key: string, work: Promise<void>): void {
    const attempt = work
      .catch((err: unknown) => {
        this.ctx.logger.error({ err, key }, 'assembly attempt failed; the due index retries it');
      })
      .finally(() => {
        this.running.delete(key);
        this.ctx.metrics.activeAssemblies.set(this.running.size);
        if (this.requestedWhileReserved.delete(key) && !this.draining) this.request(key);
        // A slot is free: take the next due transfer now, not at the next tick (a burst of
        // small files otherwise drains at one per slot per second).
        if (!this.draining) this.sweep();
      });
    this.running.set(key, attempt);
    this.ctx.metrics.activeAssemblies.set(this.running.size);
  }

  private async attempt(key: string): Promise<void> {
    const { store, due } = this.ctx;
    // The size decides the room it needs (0 while no fin: then it is settled, not assembled).
    const admitted = this.admission.tryAdmit((await store.finSize(key)) ?? 0);
    if (!admitted) {
      await due.scheduleCheck(key, Date.now() + DEFER_MS);
      return;
    }
    try {
      await this.assembleLeased(key);
    } finally {
      this.admission.release(admitted);
    }
  }

  private async assembleLeased(key: string): Promise<void> {
    const { store, due, config } = this.ctx;
    const now = Date.now();
    // With the record and (a small file's) segment index: the assembly reads nothing more.
    const taken = await store.acquireLease(
      key,
      this.ctx.owner,
      config.leaseTtl,
      now,
      LISTED_SEGMENTS,
    );
    if (taken.status === 'busy') {
      await due.scheduleCheck(key, now + config.leaseTtl);
      return;
    }
    if (taken.status === 'backoff') {
      // A failed attempt's back-off runs (a resent fin asked): the due index brings it back.
      await due.scheduleCheck(key, taken.retryAt);
      return;
    }
    if (taken.status !== 'acquired') {
      await this.settleNotReady(key);
      return;
    }
    try {
      await due.scheduleCheck(key, now + 2 * config.leaseTtl);
      const { record, segments } = taken;
      if (!record) return;
      await this.assembleHeld(
        taken.lease,
        taken.deaths,
        record,
        segments ? { index: new ListedSegments(segments) } : {},
      );
    } catch (err) {
      await this.handBack(taken.lease, err);
      throw err;
    }
  }

  /** The fin's script took the lease (and the fin's recorder wrote the watchdog entry). */
  private async assembleLeasedAtFin(leased: LeasedAtFin): Promise<void> {
    const { lease, deaths, record, segments, finSeq } = leased;
    try {
      await this.assembleHeld(lease, deaths, record, {
        ...(segments ? { index: new ListedSegments(segments) } : {}),
        knownSeqs: [finSeq],
      });
    } catch (err) {
      await this.handBack(lease, err);
      throw err;
    }
  }

  /** Assembles (or, after too many deaths, fails) a transfer whose lease this process holds. */
  private async assembleHeld(
    lease: Lease,
    deaths: number,
    record: TransferRecord,
    known?: KnownFacts,
  ): Promise<void> {
    const { config, metrics } = this.ctx;
    const key = lease.key;
    if (deaths >= config.assemblyMaxDeaths) {
      // Poison detection: the holders before died while assembling it; do not try again.
      const log = this.ctx.logger.child({
        key,
        clientId: record.clientId,
        fileId: record.fileId,
      });
      const result = await failTransfer(this.ctx, lease, record, 'assembler_died', [], log, {
        deaths,
      });
      metrics.assemblies.inc({ result });
      return;
    }
    this.ctx.events.publish({ key, state: 'assembling' });
    const result = await assembleTransfer(this.ctx, lease, record, this.shutdown.signal, known);
    metrics.assemblies.inc({ result });
  }

  /**
   * The attempt failed on its way (a Redis master's failover: "Connection is closed",
   * CLUSTERDOWN; its own error path may have failed too): give the lease back and make the
   * transfer due again soon. Left leased, it waited for the lease watchdog, two lease TTLs
   * (a minute by default), while its device's fins were answered by nothing (state
   * 'assembling'): test/cluster/failover.int.test.ts, redis-master, gave up after 30 fins.
   * Tried until Redis answers, at most one lease TTL (the lease has lapsed by then).
   * No retry without end here either: the attempt counts (MQFT_ASSEMBLY_MAX_ATTEMPTS, with its
   * back-off), and an error no attempt can overcome (permanentCause) fails the transfer.
   */
  private async handBack(lease: Lease, err: unknown): Promise<void> {
    const { store, due, config, metrics, logger } = this.ctx;
    const giveUpAt = Date.now() + config.leaseTtl;
    const cause = permanentCause(err);
    for (;;) {
      try {
        const retried = cause
          ? undefined
          : await store.retry(lease, {
              now: Date.now(),
              maxAttempts: config.assemblyMaxAttempts,
              delayMs: config.assemblyRetryDelay,
              maxDelayMs: config.assemblyRetryMaxDelay,
            });
        if (retried?.status === 'retry') {
          await due.scheduleCheck(lease.key, retried.retryAt);
          metrics.assemblies.inc({ result: 'retry' });
          return;
        }
        if (retried?.status === 'lost') {
          // Not ours, or no longer assembling (its completion was recorded): the check only
          // finishes what is left (purge, quota).
          await due.scheduleCheck(lease.key, Date.now() + RETRY_AFTER_FAILURE_MS);
          metrics.assemblies.inc({ result: 'lease_lost' });
          return;
        }
        const record = await store.get(lease.key);
        if (!record) return;
        const log = logger.child({
          key: lease.key,
          clientId: record.clientId,
          fileId: record.fileId,
        });
        const result = await failTransfer(
          this.ctx,
          lease,
          record,
          cause ?? 'retries_exhausted',
          [],
          log,
          {
            err,
            ...(retried ? { attempts: retried.attempts } : {}),
          },
        );
        metrics.assemblies.inc({ result });
        return;
      } catch (retryErr) {
        if (Date.now() >= giveUpAt || this.shutdown.signal.aborted) {
          logger.warn(
            { err: retryErr, key: lease.key },
            'lease not handed back; the watchdog takes over',
          );
          return;
        }
        await sleep(HAND_BACK_RETRY_MS, this.shutdown.signal);
      }
    }
  }

  /** Facts are missing: keep waiting within the fin grace, else answer the fin. */
  private async settleNotReady(key: string): Promise<void> {
    const { store, due, quotas, config } = this.ctx;
    const record = await store.get(key);
    if (record?.state === 'complete') {
      // Its assembler died between marking it complete and purging (test/chaos,
      // assembler-kill): the lease watchdog brings it here to finish that part, the outcome
      // first (idempotent: its id is the transfer's).
      await storeCompletion(this.ctx, record);
      await this.ctx.purger.purgeCompleted(key);
      await quotas.release(key);
    }
    if (
      !record ||
      record.state !== 'receiving' ||
      record.finAt === undefined ||
      record.finSize === undefined
    ) {
      await due.unschedule(key);
      return;
    }
    const deadline = record.finAt + config.finGrace;
    const now = Date.now();
    if (now < deadline) {
      await due.scheduleCheck(key, deadline);
      return;
    }
    const { missing, missingMore } = await checkCoverage(store, key, record.finSize);
    const expired = await store.expireFin(key, record.finAt, now, missing, missingMore);
    if (expired.status === 'expired') {
      this.ctx.metrics.assemblies.inc({ result: 'incomplete' });
      this.ctx.logger.info(
        {
          key,
          clientId: record.clientId,
          fileId: record.fileId,
          missing: missing.length,
          init: record.filemeta !== undefined,
        },
        'fin grace ran out',
      );
      this.ctx.events.publish({ key, state: 'receiving', reason: 'incomplete' });
      await replyToFin(this.ctx, key, expired.finReply, {
        reason: 'incomplete',
        missing,
        ...(missingMore ? { missingMore } : {}),
      });
    }
    await due.unschedule(key);
  }

  /** Claims due transfers for the free room and requests them; one sweep at a time. */
  private sweep(): void {
    const free = Math.min(SWEEP_BATCH, this.admission.capacity - this.running.size);
    if (this.sweeping || free <= 0 || this.draining) return;
    this.sweeping = this.claimDue(free).finally(() => {
      this.sweeping = undefined;
    });
  }

  private async claimDue(free: number): Promise<void> {
    try {
      const keys = await this.ctx.due.claimDue(Date.now(), free, this.ctx.config.leaseTtl);
      for (const key of keys) this.request(key);
    } catch (err) {
      this.ctx.logger.warn({ err }, 'due index sweep failed');
    }
  }

  /**
   * Stops taking work; lets running assemblies finish within `graceMs`, then stops them, which
   * hands their transfers back (lease released, due now) to the other assemblers. Resolves once
   * nothing it started talks to Redis any more (a sweep in flight hands its claims back too).
   */
  async stop(graceMs: number): Promise<void> {
    this.draining = true;
    clearInterval(this.timer);
    // Waiting for more bytes could last longer than any grace: handed back at once (stop()
    // aborts them before it returns its promise).
    const progressiveStopped = this.progressive.stop();
    const all = Promise.allSettled([...this.running.values()]);
    const timedOut = await Promise.race([all.then(() => false), sleep(graceMs).then(() => true)]);
    this.shutdown.abort(new Error('shutting down'));
    if (timedOut) await all;
    await this.sweeping;
    await progressiveStopped;
    await Promise.allSettled([...this.deferring]);
  }
}
