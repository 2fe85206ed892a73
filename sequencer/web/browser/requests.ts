/**
 * The connected account's own requests on the custodian's queue (forced withdrawals and deposits, read from
 * its RequestQueued events, chain data only), with where each stands:
 *
 *   pending     queued, not yet consumed by a batch; the operator has until queued time + requestDeadline
 *   processed   consumed by a batch; a forced withdrawal's `outcome` says which batch and whether the state
 *               honoured it (credited to the owner's withdrawable on-chain) or refused it (balance, or
 *               collateral beyond initial margin, too small: the custodian's ForcedWithdrawalRefused)
 *   expired     still unconsumed past its deadline: anyone may start the exodus (activateExodus)
 *   refundable  a deposit no batch consumed, in exodus: refundDeposit pays it back to the depositor
 *   refunded    refunded in exodus (DepositRefunded)
 */
import type { Address, PublicClient } from "viem";
import { custodianAbi } from "../../chain/abi.ts";
import { fetchRequests } from "../../chain/requests.ts";
import { TxType } from "../../protocol/constants.ts";
import type { DepositTx, ForcedWithdrawTx } from "../../protocol/transactions.ts";
import { exodusStatus } from "../../sdk/custodian.ts";

export type RequestState = "pending" | "processed" | "expired" | "refundable" | "refunded";

export type OwnRequest = {
  index: number;
  tx: DepositTx | ForcedWithdrawTx;
  /** Unix seconds when it was queued. */
  queuedAt: number;
  /** Unix seconds by which a batch must consume it. */
  deadline: number;
  state: RequestState;
  /** A processed forced withdrawal's batch and outcome (absent for deposits and unprocessed requests). */
  outcome?: ForcedOutcome;
};

export type ForcedOutcome = { batchNumber: number; honoured: boolean };

/**
 * The batch that consumed request `index` and whether it honoured it, from the accepted batches in order
 * (BatchSubmitted: each consumes the next `consumed` requests of the queue) and the batches that refused a
 * forced request of the account (ForcedWithdrawalRefused; an account has at most one forced request
 * unconsumed at a time, so one per batch). Null when no batch has consumed it.
 */
export function forcedOutcome(index: number, batches: readonly { batchNumber: number; consumed: number }[], refusedIn: ReadonlySet<number>): ForcedOutcome | null {
  let start = 0;
  for (const b of batches) {
    if (index < start + b.consumed) return { batchNumber: b.batchNumber, honoured: !refusedIn.has(b.batchNumber) };
    start += b.consumed;
  }
  return null;
}

const OWN_TYPES = new Set<number>([TxType.DEPOSIT, TxType.FORCED_WITHDRAW, TxType.FORCED_COLLATERAL_WITHDRAW]);

/** Where a request stands, from the custodian's queue position, the deadline, the exodus flag and the refunds made. */
export function requestState(r: { index: number; type: number; deadline: number }, chain: { processed: number; now: number; exodus: boolean; refunded: ReadonlySet<number> }): RequestState {
  if (r.index < chain.processed) return "processed";
  if (chain.exodus && r.type === TxType.DEPOSIT) return chain.refunded.has(r.index) ? "refunded" : "refundable";
  return chain.now >= r.deadline ? "expired" : "pending";
}

/** The account's deposits and forced withdrawals on the custodian's queue, newest first. */
export async function ownRequests(pc: PublicClient, custodian: Address, accountId: number): Promise<OwnRequest[]> {
  const read = <T>(functionName: string, args: readonly unknown[] = []) => pc.readContract({ address: custodian, abi: custodianAbi, functionName, args } as never) as Promise<T>;
  const events = (eventName: string, args?: Record<string, unknown>) =>
    pc.getContractEvents({ address: custodian, abi: custodianAbi, eventName, args, fromBlock: 0n, strict: true } as never) as Promise<{ args: Record<string, unknown> }[]>;
  const [queue, processed, status, block, refunds, submitted, refused] = await Promise.all([
    fetchRequests(pc, custodian, 0),
    read<bigint>("processedRequests"),
    exodusStatus(pc, custodian),
    pc.getBlock(),
    events("DepositRefunded"),
    events("BatchSubmitted"),
    events("ForcedWithdrawalRefused", { accountId }),
  ]);
  const batches = submitted.map((e) => ({ batchNumber: Number(e.args.batchNumber), consumed: Number(e.args.requestsConsumed) })).sort((a, b) => a.batchNumber - b.batchNumber);
  const refusedIn = new Set(refused.map((e) => Number(e.args.batchNumber)));
  const mine = queue.filter((q) => OWN_TYPES.has(q.tx.type) && (q.tx as DepositTx).accountId === accountId);
  const chain = { processed: Number(processed), now: Number(block.timestamp), exodus: status.exodusMode, refunded: new Set(refunds.map((e) => Number((e.args as { index: bigint }).index))) };
  const out = await Promise.all(mine.map(async (q) => {
    const queuedAt = Number(await read<bigint>("queuedAt", [BigInt(q.index)]));
    const deadline = queuedAt + Number(status.requestDeadline);
    const state = requestState({ index: q.index, type: q.tx.type, deadline }, chain);
    const outcome = state === "processed" && q.tx.type !== TxType.DEPOSIT ? forcedOutcome(q.index, batches, refusedIn) : null;
    return { index: q.index, tx: q.tx as DepositTx | ForcedWithdrawTx, queuedAt, deadline, state, ...(outcome ? { outcome } : {}) };
  }));
  return out.reverse();
}
