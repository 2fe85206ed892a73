/**
 * The market registry: the markets the engine trades and the risk module prices.
 * Both are constructed with the same registry. Markets are only ever added (as REGISTER_MARKET does).
 */
import { Bits, QUOTE_TOKEN_ID } from "../protocol/constants.ts";
import type { MarketParams } from "./types.ts";
import { isUint } from "./validate.ts";

export type MarketParamsJson = {
  marketId: number;
  baseTokenId: number;
  sizeUnit: string;
  priceUnit: string;
  makerFeePpm: number;
  takerFeePpm: number;
};

export class MarketRegistry {
  readonly #markets = new Map<number, MarketParams>();

  constructor(markets: Iterable<MarketParams> = []) {
    for (const m of markets) this.add(m);
  }

  /** Registers a market. Configuration, not a command: throws on invalid or duplicate params. */
  add(params: MarketParams): void {
    const { marketId, baseTokenId, sizeUnit, priceUnit, makerFeePpm, takerFeePpm } = params;
    if (!isUint(marketId, Bits.marketId)) throw new RangeError(`marketId ${marketId} out of range`);
    if (this.#markets.has(marketId)) throw new Error(`market ${marketId} already registered`);
    if (!isUint(baseTokenId, Bits.tokenId) || baseTokenId === QUOTE_TOKEN_ID) {
      throw new RangeError(`baseTokenId ${baseTokenId} invalid (must be a non-quote token)`);
    }
    for (const [name, u] of [["sizeUnit", sizeUnit], ["priceUnit", priceUnit]] as const) {
      if (typeof u !== "bigint" || u <= 0n || u >= 1n << BigInt(Bits.unit)) throw new RangeError(`${name} ${u} out of range`);
    }
    for (const [name, f] of [["makerFeePpm", makerFeePpm], ["takerFeePpm", takerFeePpm]] as const) {
      if (!isUint(f, Bits.feePpm)) throw new RangeError(`${name} ${f} out of range`);
    }
    this.#markets.set(marketId, Object.freeze({ marketId, baseTokenId, sizeUnit, priceUnit, makerFeePpm, takerFeePpm }));
  }

  /**
   * Removes a market nothing can trade any more (a settled instrument's, once its id is listed again: see
   * DerivativesService). Configuration, not a command: throws if the market is not registered; the
   * caller makes sure no order rests in it.
   */
  remove(marketId: number): void {
    if (!this.#markets.delete(marketId)) throw new Error(`market ${marketId} is not registered`);
  }

  get(marketId: number): MarketParams | undefined {
    return this.#markets.get(marketId);
  }

  /** All markets, by id. */
  list(): MarketParams[] {
    return [...this.#markets.values()].sort((a, b) => a.marketId - b.marketId);
  }

  toJSON(): MarketParamsJson[] {
    return this.list().map((m) => ({ ...m, sizeUnit: m.sizeUnit.toString(), priceUnit: m.priceUnit.toString() }));
  }

  static fromJSON(json: readonly MarketParamsJson[]): MarketRegistry {
    return new MarketRegistry(json.map((m) => ({ ...m, sizeUnit: BigInt(m.sizeUnit), priceUnit: BigInt(m.priceUnit) })));
  }
}
