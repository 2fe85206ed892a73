/**
 * The signed order flow of `npm run bench:api`: generator g's accounts (K sellers, K buyers, keys from
 * fixtures.trader) alternate a sell and a buy of one lot at one price, so the book stays shallow and
 * almost every order trades. Signing costs ~20 ms per order in JavaScript, so each generator's signed
 * orders are cached under cache/bench-api/ (signatures are deterministic: the cache only saves time).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { OrderType, Side, TimeInForce } from "../../sequencer/protocol/constants.ts";
import type { Order, Signed } from "../../sequencer/protocol/messages.ts";
import { signOrder } from "../../sequencer/protocol/signing.ts";
import { trader, type Trader } from "./fixtures.ts";
import { ROOT } from "./util.ts";

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

/** Generator g's first `count` signed orders, from the cache when it holds them (signing what it lacks). */
export function signedOrders(g: number, count: number, progress?: (done: number) => void): Signed<Order>[] {
  const dir = resolve(ROOT, "cache/bench-api");
  const file = resolve(dir, `orders-g${g}-k${ACCOUNTS_PER_SIDE}-v1.json`);
  const cached: [string, string, string][] = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : [];
  const accounts = generatorAccounts(g);
  const out: Signed<Order>[] = [];
  for (let i = 0; i < count; i++) {
    const { order, key } = benchOrder(g, i, accounts);
    if (i < cached.length) {
      const [r8x, r8y, s] = cached[i]!;
      out.push({ ...order, signature: { r8x: BigInt(r8x), r8y: BigInt(r8y), s: BigInt(s) } });
      continue;
    }
    const signed = signOrder(key, order);
    out.push(signed);
    cached.push([signed.signature.r8x.toString(), signed.signature.r8y.toString(), signed.signature.s.toString()]);
    if (progress && i % 250 === 0) progress(i);
    if (i % 1000 === 999 || i === count - 1) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(file, JSON.stringify(cached));
    }
  }
  return out;
}
