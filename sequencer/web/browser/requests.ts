/**
 * The connected account's own requests on the custodian's queue (forced withdrawals and deposits, read from
 * its RequestQueued events, chain data only), with where each stands:
 *
 *   waiting     a forced request waiting in line for a place under the custodian's cap of open requests
 *               (ForcedWithdrawalWaiting, not yet admitted: no queue index); its deadline runs from its call all the same
 *   pending     queued, not yet consumed by a batch; the operator has until queued time + requestDeadline (for one
 *               admitted from the line, its queued time is when it joined the line)
 *   processed   consumed by a batch; a forced withdrawal's `outcome` says which batch and whether the state
 *               honoured it (credited to the owner's withdrawable on-chain) or refused it (balance, or
 *               collateral beyond initial margin, too small: the custodian's ForcedWithdrawalRefused)
 *   expired     still unconsumed past its deadline: anyone may start the exodus (activateExodus)
 *   refundable  a deposit no batch consumed, in exodus: refundDeposit credits it back to the depositor, who pulls it with withdraw
 *   refunded    refunded in exodus (DepositRefunded)
 *
 * The page refreshes this list after every batch, so it never reads the chain's history twice: each event
 * kind is an `EventCache` that reads only the blocks after its last read (in ranges a node serves), and a
 * request's queue time is read once. A reload of the page starts over (a reorganisation the page lived
 * through is not undone until then).
 */
import { type Address, type Hex, type PublicClient } from "viem";
import { custodianAbi } from "../../chain/abi.ts";
import { DEFAULT_LOG_RANGE, logRanges } from "../../chain/logs.ts";
import { queuedRequestOf, waitingRequestTx } from "../../chain/requests.ts";
import { TxType } from "../../protocol/constants.ts";
import type { DepositTx, ForcedCloseTx, ForcedWithdrawTx } from "../../protocol/transactions.ts";
import { exodusStatus } from "../../sdk/custodian.ts";

export type RequestState = "waiting" | "pending" | "processed" | "expired" | "refundable" | "refunded";

export type OwnRequest = {
  /** Its queue index; -1 while it waits in line (`position` then says where). */
  index: number;
  /** Its position in the waiting line, while it waits there. */
  position?: number;
  tx: DepositTx | ForcedWithdrawTx | ForcedCloseTx;
  /** Unix seconds when it was queued. */
  queuedAt: number;
  /** Unix seconds by which a batch must consume it. */
  deadline: number;
  state: RequestState;
  /** A processed forced withdrawal's or close's batch and outcome (absent for deposits and unprocessed requests). */
  outcome?: ForcedOutcome;
};

export type ForcedOutcome = { batchNumber: number; honoured: boolean };

/**
 * The kind of forced request an account has at most one of unconsumed (the custodian's `CustodianPayouts.forcedKey`):
 * its forced withdrawals, spot or collateral, share one; each instrument's forced close has its own.
 */
export function forcedKind(tx: { type: number; instrumentId?: number }): string {
  return tx.type === TxType.FORCED_CLOSE ? `close:${tx.instrumentId}` : "withdrawal";
}

/** A refusal's key in `forcedOutcome`'s set: the batch that refused and the kind of the request it refused. */
export const refusalKey = (batchNumber: number, kind: string): string => `${batchNumber}/${kind}`;

/**
 * The batch that consumed request `index` (of kind `kind`, `forcedKind`) and whether it honoured it, from the
 * accepted batches in order (BatchSubmitted: each consumes the next `consumed` requests of the queue) and the
 * account's refusals (`refusalKey`s: ForcedWithdrawalRefused, or ForcedCloseProven with honoured false, which name
 * the instrument). An account has at most one request of each kind unconsumed at a time, so a batch consumes at
 * most one of each: the batch and the kind name the request. Null when no batch has consumed it.
 */
export function forcedOutcome(index: number, kind: string, batches: readonly { batchNumber: number; consumed: number }[], refused: ReadonlySet<string>): ForcedOutcome | null {
  let start = 0;
  for (const b of batches) {
    if (index < start + b.consumed) return { batchNumber: b.batchNumber, honoured: !refused.has(refusalKey(b.batchNumber, kind)) };
    start += b.consumed;
  }
  return null;
}

const OWN_TYPES = new Set<number>([TxType.DEPOSIT, TxType.FORCED_WITHDRAW, TxType.FORCED_COLLATERAL_WITHDRAW, TxType.FORCED_CLOSE]);

/** Where a request stands, from the custodian's queue position, the deadline, the exodus flag and the refunds made. */
export function requestState(r: { index: number; type: number; deadline: number }, chain: { processed: number; now: number; exodus: boolean; refunded: ReadonlySet<number> }): RequestState {
  if (r.index < chain.processed) return "processed";
  if (chain.exodus && r.type === TxType.DEPOSIT) return chain.refunded.has(r.index) ? "refunded" : "refundable";
  return chain.now >= r.deadline ? "expired" : "pending";
}

/**
 * The logs of one event filter, read incrementally: `upTo(head)` reads the blocks after the previous call's
 * last one up to `head` and returns every log read so far, in block order. Calls run one after another, so
 * two refreshes at once never read a range twice.
 */
export class EventCache<E> {
  readonly #read: (from: bigint, to: bigint) => Promise<E[]>;
  readonly #range: bigint;
  readonly #logs: E[] = [];
  #next = 0n;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(read: (from: bigint, to: bigint) => Promise<E[]>, range = DEFAULT_LOG_RANGE) {
    this.#read = read;
    this.#range = range;
  }

  upTo(head: bigint): Promise<readonly E[]> {
    const run = this.#queue.then(async () => {
      for await (const { to, logs } of logRanges(this.#next, head, this.#range, this.#read)) {
        this.#logs.push(...logs);
        this.#next = to + 1n;
      }
      return this.#logs;
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

type Log = { args: Record<string, unknown> };

/** The connected account's requests, read incrementally from the custodian's events (see the file's comment). */
export class RequestWatcher {
  readonly #pc: PublicClient;
  readonly #custodian: Address;
  readonly #events = new Map<string, EventCache<Log>>();
  readonly #queuedAt = new Map<number, number>();

  constructor(pc: PublicClient, custodian: Address) {
    this.#pc = pc;
    this.#custodian = custodian;
  }

  /** The account's deposits, forced withdrawals and forced closes on the custodian's queue, newest first. */
  async own(accountId: number): Promise<OwnRequest[]> {
    const pc = this.#pc;
    const custodian = this.#custodian;
    const block = await pc.getBlock();
    // views as of the block the events are read to, so a batch mined meanwhile is not half seen
    const read = <T>(functionName: string, args: readonly unknown[] = []) =>
      pc.readContract({ address: custodian, abi: custodianAbi, functionName, args, blockNumber: block.number } as never) as Promise<T>;
    const events = (eventName: string, args?: Record<string, unknown>) => {
      const key = `${eventName}:${JSON.stringify(args ?? {})}`;
      let cache = this.#events.get(key);
      if (!cache) {
        cache = new EventCache((fromBlock, toBlock) =>
          pc.getContractEvents({ address: custodian, abi: custodianAbi, eventName, args, fromBlock, toBlock, strict: true } as never) as Promise<Log[]>);
        this.#events.set(key, cache);
      }
      return cache.upTo(block.number!);
    };
    const [queued, processed, status, refunds, submitted, refused, closes, waited, line] = await Promise.all([
      events("RequestQueued"),
      read<bigint>("processedRequests"),
      exodusStatus(pc, custodian),
      events("DepositRefunded"),
      events("BatchSubmitted"),
      events("ForcedWithdrawalRefused", { accountId }),
      events("ForcedCloseProven", { accountId }),
      events("ForcedWithdrawalWaiting", { accountId }),
      read<readonly [bigint, bigint]>("waitingLine"),
    ]);
    const batches = submitted.map((e) => ({ batchNumber: Number(e.args.batchNumber), consumed: Number(e.args.requestsConsumed) })).sort((a, b) => a.batchNumber - b.batchNumber);
    // a forced close is reported either way (ForcedCloseProven), with its instrument
    const refusals = new Set([
      ...refused.map((e) => refusalKey(Number(e.args.batchNumber), forcedKind({ type: TxType.FORCED_WITHDRAW }))),
      ...closes.filter((e) => !e.args.honoured).map((e) => refusalKey(Number(e.args.batchNumber), forcedKind({ type: TxType.FORCED_CLOSE, instrumentId: Number(e.args.instrumentId) }))),
    ]);
    const mine = queued
      .map((l) => queuedRequestOf(l as { args: { index: bigint; record: Hex } }))
      .filter((q) => OWN_TYPES.has(q.tx.type) && (q.tx as DepositTx).accountId === accountId)
      .sort((a, b) => a.index - b.index);
    const chain = { processed: Number(processed), now: Number(block.timestamp), exodus: status.exodusMode, refunded: new Set(refunds.map((e) => Number((e.args as { index: bigint }).index))) };
    const out = await Promise.all(mine.map(async (q) => {
      let queuedAt = this.#queuedAt.get(q.index);
      if (queuedAt === undefined) this.#queuedAt.set(q.index, (queuedAt = Number(await read<bigint>("queuedAt", [BigInt(q.index)]))));
      const deadline = queuedAt + Number(status.requestDeadline);
      const state = requestState({ index: q.index, type: q.tx.type, deadline }, chain);
      const outcome = state === "processed" && q.tx.type !== TxType.DEPOSIT ? forcedOutcome(q.index, forcedKind(q.tx), batches, refusals) : null;
      return { index: q.index, tx: q.tx as OwnRequest["tx"], queuedAt, deadline, state, ...(outcome ? { outcome } : {}) };
    }));
    // a forced request still in line (its position at or past the line's head) has no queue index yet
    const inLine = await Promise.all(waited.filter((e) => BigInt(e.args.position as bigint) >= line[0]).map(async (e) => {
      const joinedAt = Number((await pc.getBlock({ blockNumber: (e as unknown as { blockNumber: bigint }).blockNumber })).timestamp);
      const deadline = joinedAt + Number(status.requestDeadline);
      const tx = waitingRequestTx({ accountId, txType: Number(e.args.txType), tokenId: Number(e.args.tokenId), amount: BigInt(e.args.amount as bigint) }) as OwnRequest["tx"];
      const state: RequestState = chain.now >= deadline ? "expired" : "waiting";
      return { index: -1, position: Number(e.args.position), tx, queuedAt: joinedAt, deadline, state } satisfies OwnRequest;
    }));
    return [...inLine.reverse(), ...out.reverse()];
  }
}
