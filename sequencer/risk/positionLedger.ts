/**
 * Bookkeeping of derivatives positions from fills, for the API only (not proven, no effect on
 * solvency; circuits/DERIVATIVES.md "Accounting model"): per account and instrument the signed size,
 * the cost basis of the open size (average-cost method), realised PnL, fees paid and funding paid.
 *
 * Values are quote units (1e-6). A fill of `lots` (signed: + buys, - sells) at `perLot` quote units per
 * lot (priceTicks * tickValue): the part that extends the position adds lots * perLot to the cost basis;
 * the part that reduces it realises (perLot - average) per lot closed (sign of the position), and the
 * cost basis drops by the closed share; a fill that flips the position closes it and opens the rest.
 * Settlement at expiry and liquidation are fills at the payoff and the liquidation price.
 */

export type LedgerEntry = {
  size: bigint;
  /** Cost of the open size: sum of lots * perLot of what is open, signed like the size. */
  costBasis: bigint;
  realisedPnl: bigint;
  feesPaid: bigint;
  /**
   * Funding settled on the position so far (lazy funding: each touch of the account pays
   * size x (fundingIndex - snapshot) out of collateral), signed: positive = paid, negative = received.
   */
  fundingPaid: bigint;
};

const EMPTY: LedgerEntry = { size: 0n, costBasis: 0n, realisedPnl: 0n, feesPaid: 0n, fundingPaid: 0n };

/** Truncating division rounded towards zero (so a closed share of the cost basis never overshoots). */
const share = (cost: bigint, part: bigint, whole: bigint) => (cost * part) / whole;

/** The entry after a fill of `lots` (signed) at `perLot`, paying `fee`. */
export function applyFill(e: LedgerEntry, lots: bigint, perLot: bigint, fee = 0n): LedgerEntry {
  let { size, costBasis, realisedPnl } = e;
  const { fundingPaid } = e;
  const feesPaid = e.feesPaid + fee;
  if (size === 0n || (size > 0n) === (lots > 0n)) {
    return { size: size + lots, costBasis: costBasis + lots * perLot, realisedPnl, feesPaid, fundingPaid };
  }
  const open = size > 0n ? size : -size;
  const moved = lots > 0n ? lots : -lots;
  const closed = moved < open ? moved : open;
  const closedCost = share(costBasis, closed, open);
  // Long closed by a sale: proceeds - cost; short closed by a purchase: cost (negative) + ... symmetric:
  const sign = size > 0n ? 1n : -1n;
  realisedPnl += sign * closed * perLot - closedCost;
  costBasis -= closedCost;
  size += lots;
  if (moved > open) costBasis = size * perLot; // flipped: the rest opens at this price
  if (size === 0n) costBasis = 0n;
  return { size, costBasis, realisedPnl, feesPaid, fundingPaid };
}

/**
 * The entry before `e`'s last fill of `lots` at `perLot` paying `fee`, where that can be known: the fill extended the
 * position (or opened it), which leaves `e` on its side with at least `lots`, and undoing it takes the lots and their cost
 * out again, exactly. A fill that reduced or flipped the position realised PnL against a cost basis `e` no longer holds,
 * so it is undone as a fill of the opposite lots at the same price: the size and fees are exact, the cost basis opens
 * at that price and the realised PnL keeps the reduction's (API bookkeeping only: nothing proven reads it).
 */
export function unapplyFill(e: LedgerEntry, lots: bigint, perLot: bigint, fee = 0n): LedgerEntry {
  const extended = (e.size > 0n) === (lots > 0n) && (e.size > 0n ? e.size >= lots : e.size <= lots);
  if (!extended) return applyFill(e, -lots, perLot, -fee);
  const size = e.size - lots;
  return { ...e, size, costBasis: size === 0n ? 0n : e.costBasis - lots * perLot, feesPaid: e.feesPaid - fee };
}

/** Average entry price per lot (quote units, truncated), 0 for a flat position. */
export function averageEntry(e: LedgerEntry): bigint {
  return e.size === 0n ? 0n : e.costBasis / e.size;
}

/** Unrealised PnL at `mark` per lot: size * mark - cost basis. */
export function unrealisedPnl(e: LedgerEntry, mark: bigint): bigint {
  return e.size * mark - e.costBasis;
}

/** Ledger entries by account and instrument. */
export class PositionLedger {
  readonly #entries = new Map<string, LedgerEntry>();

  entry(accountId: number, instrumentId: number): LedgerEntry {
    return this.#entries.get(`${accountId}:${instrumentId}`) ?? EMPTY;
  }

  /** Every entry as ["account:instrument", entry], sorted by key (snapshots). */
  entries(): [string, LedgerEntry][] {
    return [...this.#entries.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Adds the entries of a snapshot (on an empty ledger); a snapshot from before funding was kept has none paid. */
  load(entries: readonly [string, LedgerEntry][]): void {
    for (const [k, e] of entries) this.#entries.set(k, { ...e, fundingPaid: e.fundingPaid ?? 0n });
  }

  fill(accountId: number, instrumentId: number, lots: bigint, perLot: bigint, fee = 0n): void {
    this.#entries.set(`${accountId}:${instrumentId}`, applyFill(this.entry(accountId, instrumentId), lots, perLot, fee));
  }

  /** Undoes the account's last fill in the instrument (unapplyFill: a trade the batches never proved). */
  unfill(accountId: number, instrumentId: number, lots: bigint, perLot: bigint, fee = 0n): void {
    this.#entries.set(`${accountId}:${instrumentId}`, unapplyFill(this.entry(accountId, instrumentId), lots, perLot, fee));
  }

  /** Forgets every account's entry in `instrumentId` (its id now names a new instrument: DERIVATIVES.md "Reusing an id"). */
  clearInstrument(instrumentId: number): void {
    for (const key of [...this.#entries.keys()]) if (key.endsWith(`:${instrumentId}`)) this.#entries.delete(key);
  }

  /** Funding of `amount` settled on the position (positive: paid out of collateral). */
  funding(accountId: number, instrumentId: number, amount: bigint): void {
    const e = this.entry(accountId, instrumentId);
    this.#entries.set(`${accountId}:${instrumentId}`, { ...e, fundingPaid: e.fundingPaid + amount });
  }
}
