/**
 * A seeded random command stream for randomized tests and the benchmark (no tests here): orders around a
 * mid price so books build up and cross, cancels of recently placed orders, cancel-alls, short expiries,
 * reused ids, and optionally malformed or out-of-range input.
 */
import { OrderType, Side, TimeInForce } from "../../../sequencer/protocol/constants.ts";
import type { Command, Order } from "../../../sequencer/matching/types.ts";
import { FAR, prng } from "./helpers.ts";

export type FlowOptions = {
  seed: number;
  accounts: number;
  markets: readonly number[];
  midPrice: bigint;
  /** Prices are drawn in midPrice +- spread (buys a little lower, sells a little higher). */
  spread: number;
  maxLots: number;
  /** Percentages of commands. */
  cancelPct: number;
  cancelAllPct: number;
  invalidPct: number;
  /** Percentage of orders expiring within ~20 s, and of orders already expired on entry. */
  shortExpiryPct: number;
  expiredPct: number;
  /** Percentage of orders reusing an id the account already used. */
  reuseIdPct: number;
  /** Percentages of MARKET orders and of each time in force among limit orders. */
  marketPct: number;
  tif: { ioc: number; fok: number; postOnly: number };
};

export const DEFAULT_FLOW: Omit<FlowOptions, "seed"> = {
  accounts: 4,
  markets: [1, 2],
  midPrice: 100n,
  spread: 6,
  maxLots: 10,
  cancelPct: 20,
  cancelAllPct: 2,
  invalidPct: 4,
  shortExpiryPct: 10,
  expiredPct: 2,
  reuseIdPct: 3,
  marketPct: 10,
  tif: { ioc: 15, fok: 10, postOnly: 20 },
};

export function randomFlow(options: FlowOptions): { next(): Command; readonly time: number } {
  const o = options;
  const r = prng(o.seed);
  const nextId = new Array<bigint>(o.accounts + 1).fill(1n);
  const recent: [number, bigint][] = [];
  let time = 1_000_000;

  function order(): Order {
    const accountId = 1 + r.int(o.accounts);
    let orderId: bigint;
    if (nextId[accountId] > 1n && r.chance(o.reuseIdPct)) orderId = 1n + BigInt(r.int(Number(nextId[accountId] - 1n)));
    else orderId = nextId[accountId]++;
    const side = r.chance(50) ? Side.BUY : Side.SELL;
    const skew = side === Side.BUY ? -1 : 1;
    const priceTicks = o.midPrice + BigInt(r.int(2 * o.spread + 1) - o.spread + skew);
    const isMarket = r.chance(o.marketPct);
    const t = r.int(100);
    const timeInForce = isMarket
      ? (r.chance(80) ? TimeInForce.IOC : TimeInForce.FOK)
      : t < o.tif.ioc ? TimeInForce.IOC
      : t < o.tif.ioc + o.tif.fok ? TimeInForce.FOK
      : t < o.tif.ioc + o.tif.fok + o.tif.postOnly ? TimeInForce.POST_ONLY
      : TimeInForce.GTC;
    const expiry = r.chance(o.expiredPct) ? time - 1 : r.chance(o.shortExpiryPct) ? time + r.int(20) : FAR;
    recent.push([accountId, orderId]);
    if (recent.length > 64) recent.shift();
    return {
      accountId,
      orderId,
      marketId: r.pick(o.markets),
      side,
      type: isMarket ? OrderType.MARKET : OrderType.LIMIT,
      timeInForce,
      priceTicks: isMarket ? priceTicks - BigInt(skew * o.spread) : priceTicks,
      sizeLots: BigInt(1 + r.int(o.maxLots)),
      maxFeePpm: r.pick([0, 50, 100, 300, 1000, 65535]),
      expiry,
    };
  }

  function invalid(): Command {
    const base = order();
    switch (r.int(9)) {
      case 0: return { kind: "place", time, order: { ...base, sizeLots: 0n } };
      case 1: return { kind: "place", time, order: { ...base, sizeLots: 1n << 40n } };
      case 2: return { kind: "place", time, order: { ...base, priceTicks: 1n << 40n } };
      case 3: return { kind: "place", time, order: { ...base, priceTicks: -1n } };
      case 4: return { kind: "place", time, order: { ...base, marketId: 9 } };
      case 5: return { kind: "place", time, order: { ...base, side: 7 as Side } };
      case 6: return { kind: "place", time, order: { ...base, maxFeePpm: 70_000 } };
      case 7: return { kind: "place", time, order: { ...base, type: OrderType.MARKET, timeInForce: TimeInForce.POST_ONLY } };
      default: return { kind: "cancel", time, accountId: -1, orderId: 1n };
    }
  }

  return {
    get time() {
      return time;
    },
    next(): Command {
      time += r.int(3);
      const k = r.int(100);
      if (k < o.invalidPct) return invalid();
      if (k < o.invalidPct + o.cancelAllPct) {
        const accountId = 1 + r.int(o.accounts);
        return r.chance(50) ? { kind: "cancelAll", time, accountId } : { kind: "cancelAll", time, accountId, marketId: r.pick(o.markets) };
      }
      if (k < o.invalidPct + o.cancelAllPct + o.cancelPct && recent.length > 0) {
        const [accountId, orderId] = r.pick(recent);
        return { kind: "cancel", time, accountId, orderId };
      }
      return { kind: "place", time, order: order() };
    },
  };
}
