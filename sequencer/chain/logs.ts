/**
 * Event logs read in block ranges a node serves: public nodes refuse an eth_getLogs call over too many blocks
 * (commonly 10,000) or with too many results (commonly 10,000 logs), so every reader of the custodian's history
 * (the sequencer's request queue, the independent verifier, the exit's rebuild) reads it range by range, and a
 * range whose read fails is read again in halves, down to single blocks (splitRead).
 */

/** Most blocks one eth_getLogs call spans unless told otherwise. */
export const DEFAULT_LOG_RANGE = 10_000n;

/**
 * The logs of [from, to] with `read`; when the read fails (a node refusing the range's span or its number of
 * results, or any other error), reads each half the same way and joins them, in block order. A single block whose
 * read fails throws that error: a node refusing that cannot be served by smaller ranges (and an outage costs about
 * log2(to - from + 1) further calls before it is thrown).
 */
export async function splitRead<T>(from: bigint, to: bigint, read: (from: bigint, to: bigint) => Promise<T[]>): Promise<T[]> {
  try {
    return await read(from, to);
  } catch (e) {
    if (from >= to) throw e;
    const mid = from + (to - from) / 2n;
    const low = await splitRead(from, mid, read);
    return low.concat(await splitRead(mid + 1n, to, read));
  }
}

/**
 * Reads [from, to] in consecutive ranges of at most `range` blocks with `read`, yielding each range's last
 * block and logs in block order (a caller that stops or fails midway knows how far it got). A range whose read
 * fails is read in halves (splitRead).
 */
export async function* logRanges<T>(from: bigint, to: bigint, range: bigint, read: (from: bigint, to: bigint) => Promise<T[]>): AsyncGenerator<{ to: bigint; logs: T[] }> {
  if (range < 1n) throw new Error(`log range ${range}: at least one block`);
  for (let start = from; start <= to; start += range) {
    const end = start + range - 1n < to ? start + range - 1n : to;
    yield { to: end, logs: await splitRead(start, end, read) };
  }
}

/** Every log of [from, to], read in ranges of at most `range` blocks. */
export async function logsInRanges<T>(from: bigint, to: bigint, range: bigint, read: (from: bigint, to: bigint) => Promise<T[]>): Promise<T[]> {
  const out: T[] = [];
  for await (const r of logRanges(from, to, range, read)) out.push(...r.logs);
  return out;
}

/**
 * The logs of the newest range of [from, to] that has any, reading ranges of at most `range` blocks from `to`
 * backwards (empty when none has): for one event that is recent, such as the record of a batch the sequencer
 * has just posted, one call instead of a walk over the whole history.
 */
export async function newestLogs<T>(from: bigint, to: bigint, range: bigint, read: (from: bigint, to: bigint) => Promise<T[]>): Promise<T[]> {
  if (range < 1n) throw new Error(`log range ${range}: at least one block`);
  for (let end = to; end >= from; end -= range) {
    const start = end - range + 1n > from ? end - range + 1n : from;
    const logs = await splitRead(start, end, read);
    if (logs.length > 0) return logs;
  }
  return [];
}
