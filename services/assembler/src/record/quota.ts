import type { AssemblerContext } from '../context.js';

/** A recording script's answer for a transfer Redis does not know (nothing was written). */
type Unknown = { status: 'unknown' };

/**
 * Records a segment, fin or abort; every transfer a client touches counts against its quota,
 * from its first command of any kind (not only init). The script first runs without creating
 * anything; a transfer Redis does not know is admitted against its client's quota, lapsing
 * after MQFT_ORPHAN_TTL unless an init comes (init admits it again for its own TTL), and only
 * then created. Undefined when the client is at its quota: nothing was created.
 * `orphan`: this command created the transfer's state, without an init.
 */
export async function recordCounted<R extends { status: string }>(
  ctx: AssemblerContext,
  key: string,
  now: number,
  record: (create: boolean) => Promise<R>,
): Promise<{ result: Exclude<R, Unknown>; orphan: boolean } | undefined> {
  const known = await record(false);
  if (isKnown(known)) return { result: known, orphan: false };
  const { orphanTtl, maxActiveTransfers } = ctx.config;
  if (!(await ctx.quotas.admit(key, now, now + orphanTtl, maxActiveTransfers))) return undefined;
  const created = await record(true);
  if (!isKnown(created)) throw new Error(`${key}: not created although admitted`);
  return { result: created, orphan: true };
}

function isKnown<R extends { status: string }>(result: R): result is Exclude<R, Unknown> {
  return result.status !== 'unknown';
}
