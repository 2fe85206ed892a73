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
 * Batches' worth of transactions the default bound lets wait: 16 full batches. At production size (18 + 4 slots,
 * about 13 s a batch on two cores) that is 352 transactions and about 3.5 minutes of proving, inside the 5 minutes
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

/**
 * Fair queueing: from this many waiting transactions on (half the bound `max`), a new order, withdrawal or transfer is
 * taken only from an account with none of its own waiting (ExchangeCore.waitingBy: fills it took as the taker, its
 * withdrawals and transfers). Fills and withdrawals cost next to nothing (a 1-lot fill pays a quote unit of fee), so
 * without it a few accounts trading with each other filled the whole bound and had everyone's orders refused while
 * they kept it full (review of 2026-12-05, Medium). Now accounts that keep transactions waiting fill half of it; the
 * other half stays open to the accounts that have nothing waiting, so a trader who sends one order at a time is
 * served while they flood. A maker is not charged for the fills others take of its quotes, so a flood of takers
 * does not stop it requoting. A reduce-only order is not spared: it too may take 64 fills, again and again while the
 * position lasts, so sparing it let one account fill the second half (review of 2026-12-06); a trader reducing risk
 * past half the bound waits for its own transactions to be proven, seconds at production size.
 * Stop and take-profit orders fire inside the oracle update, past both rules: one account holds at most
 * MAX_TRIGGER_ORDERS_PER_ACCOUNT of them,
 * held or in the book (matching/triggers.ts). What remains: one order of an account with nothing waiting may take up to
 * MAX_FILLS_PER_ORDER (64) fills at once (a sweep of quotes the flooder rests on another account), so a flooder
 * that also cycles a few fresh accounts (each a registration on the custodian and a minimum deposit, usable again
 * once its fills are proven) can still fill the second half: the bound stays what keeps settlement on time, and
 * fairness beyond this needs batch slots shared per account (a change of the queue's order: not done).
 */
export function fairQueueFrom(max: number): number {
  return Math.ceil(max / 2);
}

/**
 * Throws BACKLOG_FULL when `pending` transactions wait for batches and the bound `max` is reached (undefined: none),
 * or from fairQueueFrom(max) on when account `accountId` has any of its own waiting (`ownWaiting()`, read only then).
 */
export function refuseWhenBacklogged(pending: number, max: number | undefined, accountId: number, ownWaiting: () => number): void {
  if (max === undefined || pending < fairQueueFrom(max)) return;
  if (pending >= max) {
    throw new RequestRejected("BACKLOG_FULL", `${pending} transactions wait for batches (the sequencer takes new orders, withdrawals and transfers below ${max}): retry once batches catch up; cancels are always taken`);
  }
  const own = ownWaiting();
  if (own > 0) {
    throw new RequestRejected("BACKLOG_FULL", `${pending} transactions wait for batches, ${own} of them account ${accountId}'s own; past ${fairQueueFrom(max)} the sequencer takes new orders, withdrawals and transfers only from accounts with nothing waiting: retry once yours are proven; cancels are always taken`);
  }
}
