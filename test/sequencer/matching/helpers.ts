/** Shared fixtures for matching and risk tests (no tests here). */
import { OrderType, Side, TimeInForce } from "../../../sequencer/protocol/constants.ts";
import { MarketRegistry } from "../../../sequencer/matching/markets.ts";
import type { EngineEvent, MarketParams, Order, PlaceCommand } from "../../../sequencer/matching/types.ts";

export const MARKETS: readonly MarketParams[] = [
  { marketId: 1, baseTokenId: 1, sizeUnit: 1000n, priceUnit: 10n, makerFeePpm: 100, takerFeePpm: 300 },
  { marketId: 2, baseTokenId: 2, sizeUnit: 1n, priceUnit: 1n, makerFeePpm: 0, takerFeePpm: 2500 },
];

export function registry(): MarketRegistry {
  return new MarketRegistry(MARKETS);
}

export const T0 = 1_000;
export const FAR = 2 ** 32 - 1;

/** A GTC limit order in market 1 with generous fee cap, far expiry; override what matters. */
export function ord(p: Partial<Order> & Pick<Order, "accountId" | "orderId" | "side" | "priceTicks" | "sizeLots">): Order {
  return {
    marketId: 1,
    type: OrderType.LIMIT,
    timeInForce: TimeInForce.GTC,
    maxFeePpm: 10_000,
    expiry: FAR,
    ...p,
  };
}

export const buy = (accountId: number, orderId: bigint, priceTicks: bigint, sizeLots: bigint, p: Partial<Order> = {}): Order =>
  ord({ accountId, orderId, side: Side.BUY, priceTicks, sizeLots, ...p });
export const sell = (accountId: number, orderId: bigint, priceTicks: bigint, sizeLots: bigint, p: Partial<Order> = {}): Order =>
  ord({ accountId, orderId, side: Side.SELL, priceTicks, sizeLots, ...p });

export function place(order: Order, time = T0): PlaceCommand {
  return { kind: "place", time, order };
}

/** Events without the final done, for terse assertions. */
export function body(events: EngineEvent[]): EngineEvent[] {
  return events.slice(0, -1);
}

export function kinds(events: EngineEvent[]): string[] {
  return events.map((e) =>
    e.type === "rejected" ? `rejected:${e.code}` : e.type === "cancelled" ? `cancelled:${e.reason}` : e.type === "fill" ? `fill:${e.lots}@${e.priceTicks}` : e.type,
  );
}

/** Seeded PRNG (mulberry32): deterministic random streams for randomized tests and benchmarks. */
export function prng(seed: number): { int(n: number): number; pick<T>(xs: readonly T[]): T; chance(p: number): boolean } {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return {
    /** Uniform integer in [0, n). */
    int: (n) => next() % n,
    pick: (xs) => xs[next() % xs.length],
    /** True with probability p/100 (p an integer percentage). */
    chance: (p) => next() % 100 < p,
  };
}
