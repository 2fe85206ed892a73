/**
 * A test oracle feeder: signs index prices, implied vols (a vol slice per (underlying, expiry) of the live options, from a
 * vol surface) and perpetual funding rates under the oracle
 * key and posts them to the exchange API (POST /v1/oracle/updates), which checks the key against the
 * custodian's. Real deployments feed from an external price source; this one takes the prices it is
 * given (the devnet moves them) and derives each perpetual's funding rate from its order book:
 *
 *   rate = clamp((mid - index) / index, +-cap)   in ppm per funding epoch (premium index, like dYdX)
 *
 * where mid is the perpetual's book mid (the index when a side is empty). It is a test feeder's rule, not a
 * production one: the whole premium is charged per epoch, from one sample of the top of the book, so with hourly
 * epochs a 0.1% premium costs longs about 876% a year (dYdX charges a time-averaged premium / 8 per hour, Binance an
 * 8-hour rate from impact prices), and one 1-lot quote at the top of a thin book can move the rate to its cap. A
 * real feeder averages the premium over the epoch, uses impact prices and scales it to the epoch's length; the
 * circuit only bounds what is signed (|rate| <= the perpetual's fundingCapPpm). A funding epoch starts every
 * `fundingEpochSeconds`; rates apply only when the epoch moves (the circuit's rule), so the feeder
 * sends the current epoch and the next one once its time has come.
 *
 * Expiry: the feeder keeps, for every expiry of a listed dated instrument, the prices of its first
 * publication at or after that expiry (its expiry prices), and names the earliest expiry the exchange has
 * not settled yet in each update with those prices (circuits/DERIVATIVES.md, "Expiry"): an expiry settles at
 * the same prices however late the batch that carries it is (a missed settlement window included).
 */
import { signOracleUpdate } from "../derivatives/oracleSigner.ts";
import type { SignedOracleUpdate } from "../derivatives/oracleStep.ts";
import { InstrumentKind, PPM } from "../protocol/constants.ts";
import { isDated, isOption, type ListedInstrument } from "../derivatives/formulas.ts";
import type { ExpirySettlement } from "../protocol/messages.ts";
import { sliceTable, type VolSlice } from "../protocol/volSlices.ts";
import type { OracleOutcome } from "../wire/responses.ts";
import { apiRequest, type ExchangeClient } from "./client.ts";

/**
 * An implied-vol surface: the slice (at-the-money level and skew slope, ppm; protocol/volSlices.ts) the oracle signs for
 * the options on `underlying` expiring at `expiry`. A term structure is a function of the expiry; the skew is the slope
 * (vol = level + slope * (strike - index) / index, clamped to Black-Scholes' domain).
 */
export type VolSurface = (underlying: number, expiry: number) => { levelPpm: bigint; slopePpm: bigint };

/** A flat surface: every option on underlying u at `vols[u]`, no skew. */
export function flatVols(vols: readonly bigint[]): VolSurface {
  return (underlying) => ({ levelPpm: vols[underlying], slopePpm: 0n });
}

/** The vol table for `instruments` at `time`: a slice per (underlying, expiry) of the options not settled nor expired, from `surface`. */
export function volSlicesFor(instruments: readonly ListedInstrument[], time: number, surface: VolSurface, size: number): VolSlice[] {
  const keys = new Map<string, { underlying: number; expiry: number }>();
  for (const i of instruments) if (isOption(i.kind) && i.settlePrice === 0n && i.expiry > time) keys.set(`${i.underlying}:${i.expiry}`, { underlying: i.underlying, expiry: i.expiry });
  return sliceTable([...keys.values()].map((k) => ({ ...k, ...surface(k.underlying, k.expiry) })), size);
}

export type OracleFeederOptions = {
  url: string;
  /** The oracle's private key (its public key is registered on the custodian). */
  key: Uint8Array;
  /** Seconds between funding epochs. */
  fundingEpochSeconds: number;
  /** Unix seconds (default: the wall clock). */
  clock?: () => number;
};

export class OracleFeeder {
  readonly #opts: OracleFeederOptions;
  #epoch = 0;
  #epochStart: number | null = null;
  /** Expiry -> the prices of the first publication at or after it. */
  readonly #expiryPrices = new Map<number, bigint[]>();

  constructor(opts: OracleFeederOptions) {
    this.#opts = opts;
  }

  get fundingEpoch(): number {
    return this.#epoch;
  }

  #now(): number {
    return this.#opts.clock ? this.#opts.clock() : Math.floor(Date.now() / 1000);
  }

  /**
   * Signs and posts one update with `prices` (1e-8 quote per underlying) and a vol slice per (underlying, expiry) of
   * the live options from `vols` (a surface, or one flat vol per underlying: `flatVols`); funding rates from the perpetuals'
   * books (read through `reader`) when an epoch ends.
   */
  async publish(
    reader: ExchangeClient, prices: readonly bigint[], vols: readonly bigint[] | VolSurface,
  ): Promise<{ update: SignedOracleUpdate; outcome: OracleOutcome }> {
    const time = this.#now();
    this.#epochStart ??= time;
    const tick = time - this.#epochStart >= this.#opts.fundingEpochSeconds;
    const { instruments, instrumentSlots, optionSlots, fundingEpoch } = await reader.instruments();
    // The epoch continues from the sequencer's (after a restart of the feeder, or when the sequencer put
    // its derivatives back on the proven state because an update could not be proven in time).
    this.#epoch = fundingEpoch;
    const rates = Array.from({ length: instrumentSlots }, () => 0n);
    if (tick) {
      for (const inst of instruments) {
        if (inst.kind !== InstrumentKind.PERPETUAL) continue;
        rates[inst.instrumentId] = await this.#premiumRate(reader, inst.marketId, inst.tickValue, inst.lotSizeE6, prices[inst.underlying], inst.fundingCapPpm);
      }
      this.#epoch++;
      this.#epochStart = time;
    }
    const volSlices = volSlicesFor(instruments, time, typeof vols === "function" ? vols : flatVols(vols), optionSlots);
    const settlement = this.#settlement(instruments, time, prices);
    const update = signOracleUpdate(this.#opts.key, { time, fundingEpoch: this.#epoch, prices: [...prices], volSlices, rates, settlement });
    const answer = await apiRequest<OracleOutcome>(this.#opts.url, "POST", "/v1/oracle/updates", update);
    // Liquidated and deleveraged lots arrive as decimal strings inside tuples (the wire reviver only knows keyed fields).
    const outcome = {
      ...answer,
      liquidations: answer.liquidations.map(([a, i, lots]): [number, number, bigint] => [a, i, BigInt(lots)]),
      deleveraged: (answer.deleveraged ?? []).map(([a, b, i, lots]): [number, number, number, bigint] => [a, b, i, BigInt(lots)]),
    };
    return { update, outcome };
  }

  /**
   * Records `prices` as the expiry prices of every listed expiry reached at `time` for the first time, and
   * returns the earliest expiry of an unsettled dated instrument with its prices (null when none is due).
   */
  #settlement(instruments: readonly ListedInstrument[], time: number, prices: readonly bigint[]): ExpirySettlement | null {
    let due: number | null = null;
    for (const inst of instruments) {
      if (!isDated(inst.kind) || inst.expiry > time) continue;
      if (!this.#expiryPrices.has(inst.expiry)) this.#expiryPrices.set(inst.expiry, [...prices]);
      if (inst.settlePrice === 0n && (due === null || inst.expiry < due)) due = inst.expiry;
    }
    return due === null ? null : { expiry: due, prices: [...this.#expiryPrices.get(due)!] };
  }

  /** (mid - index) / index in ppm, capped; mid per underlying unit from the book's best prices. */
  async #premiumRate(reader: ExchangeClient, marketId: number, tickValue: bigint, lotSizeE6: bigint, index: bigint, cap: bigint): Promise<bigint> {
    const book = await reader.book(marketId, 1);
    const bid = book.bids[0]?.priceTicks;
    const ask = book.asks[0]?.priceTicks;
    if (bid === undefined || ask === undefined) return 0n;
    // priceTicks * tickValue is quote units (1e-6) per lot of lotSizeE6 (1e-6 underlying): per unit in 1e-8 quote.
    const mid = ((bid + ask) * tickValue * 100n * 1_000_000n) / (2n * lotSizeE6);
    const rate = ((mid - index) * PPM) / index;
    return rate > cap ? cap : rate < -cap ? -cap : rate;
  }
}
