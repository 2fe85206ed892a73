/**
 * The signed order flow of `npm run bench:api`: generator g's accounts (K sellers, K buyers, keys from
 * fixtures.trader) alternate a sell and a buy of one lot at one price, so the book stays shallow and
 * almost every order trades. Orders are signed with the native signer (sequencer/crypto/nativeSigning.ts,
 * the same signatures as circomlibjs's, which takes ~20 ms per order and once made this benchmark wait 15
 * minutes before measuring anything); without the native addon, with circomlibjs.
 */
import { messageSigner, type MessageSigner } from "../../sequencer/crypto/nativeSigning.ts";
import { OrderType, Side, TimeInForce } from "../../sequencer/protocol/constants.ts";
import { orderMessage, type Order, type Signed } from "../../sequencer/protocol/messages.ts";
import { trader, type Trader } from "./fixtures.ts";

/** Accounts per side per generator. */
export const ACCOUNTS_PER_SIDE = 16;
export const BENCH_MARKET = { marketId: 0, baseTokenId: 1, sizeUnit: 1n, priceUnit: 1n } as const;
const PRICE = 1000n;
const EXPIRY = 4_000_000_000;

const accountsOf = new Map<number, { sellers: Trader[]; buyers: Trader[] }>();

/** Generator g's sellers and buyers (account ids from 1, disjoint between generators); keys derived once. */
export function generatorAccounts(g: number): { sellers: Trader[]; buyers: Trader[] } {
  let a = accountsOf.get(g);
  if (!a) {
    const first = 1 + g * 2 * ACCOUNTS_PER_SIDE;
    const range = (from: number) => Array.from({ length: ACCOUNTS_PER_SIDE }, (_, i) => trader(from + i));
    accountsOf.set(g, (a = { sellers: range(first), buyers: range(first + ACCOUNTS_PER_SIDE) }));
  }
  return a;
}

/** Order i of generator g, unsigned: sells at even i, buys at odd i, ids counting up per account. */
export function benchOrder(g: number, i: number, accounts = generatorAccounts(g)): { order: Order; key: Uint8Array } {
  const pair = i >> 1;
  const t = (i % 2 === 0 ? accounts.sellers : accounts.buyers)[pair % ACCOUNTS_PER_SIDE]!;
  const orderId = BigInt(1 + Math.floor(pair / ACCOUNTS_PER_SIDE));
  return {
    key: t.key,
    order: {
      accountId: t.accountId, orderId, marketId: BENCH_MARKET.marketId, side: i % 2 === 0 ? Side.SELL : Side.BUY,
      type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, priceTicks: PRICE, sizeLots: 1n, maxFeePpm: 1000, expiry: EXPIRY,
    },
  };
}

const signers = new Map<Uint8Array, MessageSigner>();

/** Generator g's first `count` signed orders (progress is told every 1000). */
export function signedOrders(g: number, count: number, progress?: (done: number) => void): Signed<Order>[] {
  const accounts = generatorAccounts(g);
  const out: Signed<Order>[] = [];
  for (let i = 0; i < count; i++) {
    const { order, key } = benchOrder(g, i, accounts);
    let signer = signers.get(key);
    if (!signer) signers.set(key, (signer = messageSigner(key)));
    out.push({ ...order, signature: signer.sign(orderMessage(order)) });
    if (progress && i % 1000 === 0) progress(i);
  }
  return out;
}
