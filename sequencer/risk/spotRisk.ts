/**
 * Spot risk: balances and reservations per account per token, plugged into the matching engine as its
 * RiskHook. Token 0 is the quote asset of every market; fees are paid in it and accrue to the fee pool.
 *
 * Reservation (made when an order is accepted, so a fill can never overdraw an account):
 * - sell: sizeLots * sizeUnit of the base token;
 * - buy:  sizeLots * perLot of quote, perLot = priceTicks * priceUnit + ceil(priceTicks * priceUnit * maxFeePpm / 10^6).
 *   The fee part is reserved per lot, not as ceil(notional * maxFeePpm / 10^6) on the whole order: fees are
 *   rounded up on every fill (circuits/SPEC.md, TRADE), so an order filled in k pieces can pay up to k-1
 *   more than the whole-order ceiling (e.g. 2 lots, notional 1 per lot, 1000 ppm: ceil(2*1000/1e6) = 1,
 *   but two 1-lot fills pay 1 + 1). Since ceil(l*x) <= l*ceil(x), sizeLots * ceil(per-lot fee) is an upper
 *   bound for any split, and it is linear in lots, so a fill of l lots releases exactly l * perLot
 *   (which covers the payment, price improvement and any fee below maxFeePpm) and what is left reserved
 *   always equals remainingLots * perLot. It exceeds the whole-order ceiling by less than sizeLots quote units.
 *
 * Fill (exactly the circuit's TRADE rule): quote = lots * priceTicks * priceUnit, base = lots * sizeUnit,
 * fee_X = ceil(quote * feePpm_X / 10^6); buyer: quote -= quote + fee_buy, base += base; seller:
 * base -= base, quote += quote - fee_sell; feePool += fee_buy + fee_sell.
 *
 * Invariants: for every token, sum of balances (+ feePool for the quote token) changes only by credit,
 * debit and adjust; 0 <= reserved <= balance for every account and token, except while the sequencer
 * undoes a trade no batch could prove (unwindFill: then it cancels the account's uncovered orders, and
 * a negative balance lasts until what spent it is refused in turn).
 */
import { Bits, QUOTE_TOKEN_ID, Side } from "../protocol/constants.ts";
import { feeAmount } from "../matching/fees.ts";
import type { RiskHook } from "../matching/riskHook.ts";
import type { FillEvent, MarketParams, Order, OrderView } from "../matching/types.ts";
import { isUint } from "../matching/validate.ts";

const MAX_BALANCE = 1n << BigInt(Bits.balance);
const MAX_AMOUNT = 1n << BigInt(Bits.amount);

type Entry = { balance: bigint; reserved: bigint };

export type SpotRiskSnapshot = {
  version: 1;
  feePool: string;
  /** [accountId, tokenId, balance, reserved] for every non-zero entry, by account then token. */
  entries: [number, number, string, string][];
};

/** Quote reserved per lot of a buy order: price plus the fee ceiling for one lot at maxFeePpm. */
export function buyReservePerLot(order: Order, market: MarketParams): bigint {
  const quote = order.priceTicks * market.priceUnit;
  return quote + feeAmount(quote, order.maxFeePpm);
}

/** Market parameters come with every hook call (the engine owns the market registry). */
export class SpotRisk implements RiskHook {
  /** Key: accountId * 2^16 + tokenId (< 2^48, an exact number). */
  readonly #entries = new Map<number, Entry>();
  #feePool = 0n;

  // ---- balances ---------------------------------------------------------------------------------

  /** Deposit: adds `amount` (0 <= amount < 2^96). Refuses (false) bad ids/amounts or a balance reaching 2^128. */
  credit(accountId: number, tokenId: number, amount: bigint): boolean {
    if (!validIds(accountId, tokenId) || !validAmount(amount)) return false;
    const e = this.#entry(accountId, tokenId);
    if (e.balance + amount >= MAX_BALANCE) return false;
    e.balance += amount;
    return true;
  }

  /** Withdrawal: removes `amount` if at least that much is available (not reserved); else false and no change. */
  debit(accountId: number, tokenId: number, amount: bigint): boolean {
    if (!validIds(accountId, tokenId) || !validAmount(amount)) return false;
    const e = this.#entries.get(key(accountId, tokenId));
    if (e === undefined ? amount > 0n : e.balance - e.reserved < amount) return false;
    if (e !== undefined) e.balance -= amount;
    return true;
  }

  balance(accountId: number, tokenId: number): bigint {
    return this.#entries.get(key(accountId, tokenId))?.balance ?? 0n;
  }

  reserved(accountId: number, tokenId: number): bigint {
    return this.#entries.get(key(accountId, tokenId))?.reserved ?? 0n;
  }

  available(accountId: number, tokenId: number): bigint {
    const e = this.#entries.get(key(accountId, tokenId));
    return e === undefined ? 0n : e.balance - e.reserved;
  }

  /** Quote collected as trading fees. */
  get feePool(): bigint {
    return this.#feePool;
  }

  /** Sum of all accounts' balances of a token (not counting the fee pool). */
  totalBalance(tokenId: number): bigint {
    let sum = 0n;
    for (const [k, e] of this.#entries) if (k % 65536 === tokenId) sum += e.balance;
    return sum;
  }

  /**
   * Account `accountId`'s non-zero entries of token ids below `tokenIds`, by token: one lookup per token id, whatever
   * the number of accounts (an API read of one account must not walk the exchange: entries() is for snapshots).
   */
  entriesOf(accountId: number, tokenIds: number): { tokenId: number; balance: bigint; reserved: bigint }[] {
    const out: { tokenId: number; balance: bigint; reserved: bigint }[] = [];
    for (let tokenId = 0; tokenId < tokenIds; tokenId++) {
      const e = this.#entries.get(key(accountId, tokenId));
      if (e && (e.balance !== 0n || e.reserved !== 0n)) out.push({ tokenId, balance: e.balance, reserved: e.reserved });
    }
    return out;
  }

  /** Every non-zero entry, by account then token. */
  entries(): { accountId: number; tokenId: number; balance: bigint; reserved: bigint }[] {
    return [...this.#entries.entries()]
      .filter(([, e]) => e.balance !== 0n || e.reserved !== 0n)
      .sort((a, b) => a[0] - b[0])
      .map(([k, e]) => ({ accountId: Math.floor(k / 65536), tokenId: k % 65536, balance: e.balance, reserved: e.reserved }));
  }

  // ---- RiskHook ---------------------------------------------------------------------------------

  reserve(order: OrderView, market: MarketParams): boolean {
    const e =
      order.side === Side.BUY
        ? this.#entry(order.accountId, QUOTE_TOKEN_ID)
        : this.#entry(order.accountId, market.baseTokenId);
    const need =
      order.side === Side.BUY ? order.sizeLots * buyReservePerLot(order, market) : order.sizeLots * market.sizeUnit;
    if (e.balance - e.reserved < need) return false;
    e.reserved += need;
    return true;
  }

  onFill(fill: FillEvent, maker: OrderView, taker: OrderView, market: MarketParams): void {
    const makerBuys = fill.makerSide === Side.BUY;
    const buy = makerBuys ? maker : taker;
    const sell = makerBuys ? taker : maker;
    const quote = fill.lots * fill.priceTicks * market.priceUnit;
    const base = fill.lots * market.sizeUnit;
    const buyFee = feeAmount(quote, makerBuys ? fill.makerFeePpm : fill.takerFeePpm);
    const sellFee = feeAmount(quote, makerBuys ? fill.takerFeePpm : fill.makerFeePpm);

    const buyerQuote = this.#entry(buy.accountId, QUOTE_TOKEN_ID);
    buyerQuote.balance -= quote + buyFee;
    unreserve(buyerQuote, fill.lots * buyReservePerLot(buy, market));
    this.#entry(buy.accountId, market.baseTokenId).balance += base;

    const sellerBase = this.#entry(sell.accountId, market.baseTokenId);
    sellerBase.balance -= base;
    unreserve(sellerBase, base);
    this.#entry(sell.accountId, QUOTE_TOKEN_ID).balance += quote - sellFee;

    this.#feePool += buyFee + sellFee;
  }

  /**
   * Undoes a fill that no batch could prove (the sequencer takes the trade out of its queue: issue 11):
   * the exact opposite of onFill's balance moves, from the trade's own amounts, whatever has happened
   * since. A balance the fill paid for and something later spent goes negative, or below what is
   * reserved on it: what spent it waits in the queue after the trade and is refused by the batch
   * builder in turn (which gives it back), and the sequencer cancels the orders no longer covered
   * (`uncovered`). The orders' reservations are not touched (the engine does not give filled lots back).
   */
  unwindFill(
    t: { buyAccount: number; sellAccount: number; lots: bigint; priceTicks: bigint; buyFeePpm: number; sellFeePpm: number },
    market: MarketParams,
  ): void {
    const quote = t.lots * t.priceTicks * market.priceUnit;
    const base = t.lots * market.sizeUnit;
    const buyFee = feeAmount(quote, t.buyFeePpm);
    const sellFee = feeAmount(quote, t.sellFeePpm);
    this.adjust(t.buyAccount, market.baseTokenId, -base);
    this.adjust(t.buyAccount, QUOTE_TOKEN_ID, quote + buyFee);
    this.adjust(t.sellAccount, QUOTE_TOKEN_ID, -(quote - sellFee));
    this.adjust(t.sellAccount, market.baseTokenId, base);
    this.#feePool -= buyFee + sellFee;
  }

  /**
   * Moves a balance by `delta` with no check but the ids (undoing what a rejected transaction did:
   * the sequencer's rejection path). The balance may go negative or below its reservation for a while.
   */
  adjust(accountId: number, tokenId: number, delta: bigint): void {
    if (!validIds(accountId, tokenId)) throw new RangeError(`spot risk: bad ids ${accountId}/${tokenId}`);
    this.#entry(accountId, tokenId).balance += delta;
  }

  /** Tokens of `accountId` whose balance does not cover what is reserved on them (or is negative). */
  uncovered(accountId: number): number[] {
    const out: number[] = [];
    for (const [k, e] of this.#entries) if (Math.floor(k / 65536) === accountId && (e.balance < 0n || e.reserved > e.balance)) out.push(k % 65536);
    return out;
  }

  release(order: OrderView, remainingLots: bigint, market: MarketParams): void {
    if (remainingLots === 0n) return;
    if (order.side === Side.BUY) {
      unreserve(this.#entry(order.accountId, QUOTE_TOKEN_ID), remainingLots * buyReservePerLot(order, market));
    } else {
      unreserve(this.#entry(order.accountId, market.baseTokenId), remainingLots * market.sizeUnit);
    }
  }

  // ---- snapshot ---------------------------------------------------------------------------------

  snapshot(): SpotRiskSnapshot {
    return {
      version: 1,
      feePool: this.#feePool.toString(),
      entries: this.entries().map((e) => [e.accountId, e.tokenId, e.balance.toString(), e.reserved.toString()]),
    };
  }

  static restore(snapshot: SpotRiskSnapshot): SpotRisk {
    if (snapshot.version !== 1) throw new Error(`unsupported spot risk snapshot version ${snapshot.version}`);
    const risk = new SpotRisk();
    risk.#feePool = BigInt(snapshot.feePool);
    for (const [accountId, tokenId, balance, reserved] of snapshot.entries) {
      const e = { balance: BigInt(balance), reserved: BigInt(reserved) };
      // (a negative balance, with nothing reserved, waits for the rejection of what spent it: unwindFill)
      if (!validIds(accountId, tokenId) || e.reserved < 0n || (e.reserved > 0n && e.reserved > e.balance) || e.balance >= MAX_BALANCE || e.balance <= -MAX_BALANCE) {
        throw new Error(`spot risk snapshot: bad entry ${accountId}/${tokenId}`);
      }
      risk.#entries.set(key(accountId, tokenId), e);
    }
    return risk;
  }

  #entry(accountId: number, tokenId: number): Entry {
    const k = key(accountId, tokenId);
    let e = this.#entries.get(k);
    if (e === undefined) this.#entries.set(k, (e = { balance: 0n, reserved: 0n }));
    return e;
  }
}

function key(accountId: number, tokenId: number): number {
  return accountId * 65536 + tokenId;
}

function validIds(accountId: number, tokenId: number): boolean {
  return isUint(accountId, Bits.accountId) && isUint(tokenId, Bits.tokenId);
}

function validAmount(amount: bigint): boolean {
  return typeof amount === "bigint" && amount >= 0n && amount < MAX_AMOUNT;
}

function unreserve(e: Entry, amount: bigint): void {
  e.reserved -= amount;
  if (e.reserved < 0n) throw new Error("spot risk: reservation underflow (engine and risk state disagree)");
}
