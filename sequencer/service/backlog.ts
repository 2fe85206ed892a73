/**
 * Backpressure on intake: how many transactions may wait for a batch before the sequencer stops taking new orders,
 * withdrawals and transfers (BACKLOG_FULL). Intake matches in microseconds and a batch is proven in seconds, so
 * without a bound one trader sending crossing orders as fast as the rate limit lets it (free self-trades at a tick's
 * price, for example) builds a queue that takes hours to prove. Everything behind it then waits: deposits and key
 * rotations towards the custodian's request deadline (past it anyone may start the exodus), derivatives fills past
 * the age their oracle update may have in a batch (they are rejected and taken back), short-lived orders past their
 * expiry. With the bound, intake says "not now" at once and settlement keeps pace.
 *
 * What is never refused: cancels (they only take risk off), oracle updates, and on-chain requests (the custodian
 * queued them already: they are facts). Fills a taker sweeps in one order may pass the bound by that order's fills.
 * Proven cancels are not counted: one account could queue thousands (a cancel of every order it rests, a self-trade
 * sweep, a key rotation), so each account has at most QUEUED_CANCELS_PER_ACCOUNT of them in the queue at once and
 * the rest wait outside it (exchangeCore.ts): a flood of them neither fills the bound nor holds anyone else's entries.
 */
import type { CircuitParams } from "../protocol/params.ts";
import { RequestRejected } from "./requestRejected.ts";

/**
 * Batches' worth of transactions the default bound lets wait: 16 full batches. At production size (19 + 4 slots,
 * about 13 s a batch on two cores) that is 368 transactions and about 3.5 minutes of proving, inside the 5 minutes
 * (MAX_ORACLE_AGE) a derivatives fill's oracle update may be old in its batch and the 10 minutes an immediate
 * order lives (IMMEDIATE_ORDER_TTL).
 */
export const BACKLOG_BATCHES = 16;

/** The default bound for a parameter set: BACKLOG_BATCHES batches of all their slots. */
export function defaultMaxBacklog(params: CircuitParams): number {
  return BACKLOG_BATCHES * (params.slots + params.derivSlots);
}

/**
 * Withdrawals and transfers one account may have waiting for batches (its nonced requests past the proven nonce):
 * they pay no fee, so without a share of its own one account could fill the whole bound with dust withdrawals at
 * its rate limit, and keep it full as batches free it (review of 2026-12-05). No trader needs more waiting at once.
 */
export const PENDING_REQUESTS_PER_ACCOUNT = 16;

/** Throws BACKLOG_FULL when account `accountId` has `pending` withdrawals and transfers waiting, PENDING_REQUESTS_PER_ACCOUNT or more. */
export function refuseWhenAccountBacklogged(accountId: number, pending: number): void {
  if (pending >= PENDING_REQUESTS_PER_ACCOUNT) {
    throw new RequestRejected("BACKLOG_FULL", `account ${accountId} has ${pending} withdrawals and transfers waiting for batches (at most ${PENDING_REQUESTS_PER_ACCOUNT}): retry once batches catch up`);
  }
}

/** Throws BACKLOG_FULL when `pending` transactions wait for batches and the bound `max` is reached (undefined: none). */
export function refuseWhenBacklogged(pending: number, max: number | undefined): void {
  if (max !== undefined && pending >= max) {
    throw new RequestRejected("BACKLOG_FULL", `${pending} transactions wait for batches (the sequencer takes new orders, withdrawals and transfers below ${max}): retry once batches catch up; cancels are always taken`);
  }
}
