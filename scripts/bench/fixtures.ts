/**
 * Deterministic traders, a funded exchange state and signed transactions shared by the bench sections.
 * Nothing here is random: the same run signs the same orders.
 */
import { publicKeyOf, type PublicKey } from "../../sequencer/crypto/babyjub.ts";
import { applyTx } from "../../sequencer/batch/slotWitness.ts";
import type { BatchTx, CancelTx, SpotTx, TradeTx, WithdrawTx } from "../../sequencer/protocol/transactions.ts";
import { OrderType, Side, TimeInForce, TxType } from "../../sequencer/protocol/constants.ts";
import type { CircuitParams } from "../../sequencer/protocol/params.ts";
import { signCancel, signOrder, signWithdrawal } from "../../sequencer/protocol/signing.ts";
import { ExchangeState } from "../../sequencer/state/exchangeState.ts";

export type Trader = { accountId: number; key: Uint8Array; pubKey: PublicKey };

/** Account `accountId`'s trading key (a fixed byte pattern; never use such keys outside benchmarks). */
export function trader(accountId: number): Trader {
  const key = new Uint8Array(32).fill((accountId * 37 + 101) & 0xff);
  return { accountId, key, pubKey: publicKeyOf(key) };
}

/** Market 0: base token 1 in lots of 10^15 (0.001 of an 18-decimal token), quote ticks of 10 units. */
export const MARKET = { marketId: 0, baseTokenId: 1, sizeUnit: 10n ** 15n, priceUnit: 10n } as const;
export const PRICE_TICKS = 300_000n;
export const LOTS = 10n;
export const EXPIRY = 4_000_000_000; // fits the 32-bit expiry field; far in the future
export const TIMESTAMP = 1_800_000_000;
export const MAKER_PPM = 100;
export const TAKER_PPM = 500;

/** Quote (token 0) a buyer spends per trade, fee included, and base (token 1) a seller delivers. */
export const QUOTE_PER_TRADE = LOTS * PRICE_TICKS * MARKET.priceUnit * 2n; // twice the notional: covers any fee
export const BASE_PER_TRADE = LOTS * MARKET.sizeUnit;

/** `count` trades between buyer and seller, orders `firstOrderId`, `firstOrderId + 1`, ... on both sides. */
export function trades(buyer: Trader, seller: Trader, count: number, firstOrderId = 1): TradeTx[] {
  const base = { marketId: MARKET.marketId, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, maxFeePpm: 1000, expiry: EXPIRY, sizeLots: 2n * LOTS };
  return Array.from({ length: count }, (_, i) => {
    const orderId = BigInt(firstOrderId + i);
    return {
      type: TxType.TRADE,
      buy: signOrder(buyer.key, { ...base, accountId: buyer.accountId, orderId, side: Side.BUY, priceTicks: PRICE_TICKS + 100n }),
      sell: signOrder(seller.key, { ...base, accountId: seller.accountId, orderId, side: Side.SELL, priceTicks: PRICE_TICKS }),
      lots: LOTS,
      priceTicks: PRICE_TICKS,
      buyFeePpm: TAKER_PPM,
      sellFeePpm: MAKER_PPM,
    } satisfies TradeTx;
  });
}

/** `count` withdrawals alternating between the traders (quote for even, base for odd), nonces from `nonces`. */
export function withdrawals(traders: readonly [Trader, Trader], count: number, nonces: Map<number, number>): WithdrawTx[] {
  return Array.from({ length: count }, (_, i) => {
    const t = traders[i % 2]!;
    const nonce = nonces.get(t.accountId) ?? 0;
    nonces.set(t.accountId, nonce + 1);
    const tokenId = i % 2;
    const request = signWithdrawal(t.key, { accountId: t.accountId, tokenId, amount: tokenId === 0 ? 1_000_000n : BASE_PER_TRADE, nonce });
    return { type: TxType.WITHDRAW, request } satisfies WithdrawTx;
  });
}

/** `count` signed cancels of order ids from `firstOrderId`, alternating between the traders. */
export function cancels(traders: readonly [Trader, Trader], count: number, firstOrderId: number): CancelTx[] {
  return Array.from({ length: count }, (_, i) => {
    const t = traders[i % 2]!;
    return { type: TxType.CANCEL, request: signCancel(t.key, { accountId: t.accountId, orderId: BigInt(firstOrderId + i) }) } satisfies CancelTx;
  });
}

/** A state with the traders' keys registered, market 0 registered and both traders funded in both tokens. */
export function fundedState(params: CircuitParams, traders: readonly Trader[]): ExchangeState {
  const state = new ExchangeState(params);
  const ctx = { timestamp: TIMESTAMP, verifySignatures: true };
  const setup: SpotTx[] = [
    { type: TxType.REGISTER_MARKET, marketId: MARKET.marketId, baseTokenId: MARKET.baseTokenId, sizeUnit: MARKET.sizeUnit, priceUnit: MARKET.priceUnit },
  ];
  for (const t of traders) {
    setup.push({ type: TxType.REGISTER_KEY, accountId: t.accountId, pubKey: t.pubKey });
    setup.push({ type: TxType.DEPOSIT, accountId: t.accountId, tokenId: 0, amount: 10n ** 24n });
    setup.push({ type: TxType.DEPOSIT, accountId: t.accountId, tokenId: 1, amount: 10n ** 26n });
  }
  for (const tx of setup) applyTx(state, tx, ctx);
  return state;
}
