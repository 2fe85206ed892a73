/** Average-cost bookkeeping of positions from fills: cost basis, average entry, realised and unrealised PnL. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { applyFill, averageEntry, PositionLedger, unapplyFill, unrealisedPnl, type LedgerEntry } from "../../../sequencer/risk/positionLedger.ts";

const flat: LedgerEntry = { size: 0n, costBasis: 0n, realisedPnl: 0n, feesPaid: 0n, fundingPaid: 0n };

describe("position ledger", () => {
  it("averages the entry price over fills that extend the position", () => {
    const e = applyFill(applyFill(flat, 10n, 100n), 30n, 200n);
    assert.equal(e.costBasis, 7_000n);
    assert.equal(averageEntry(e), 175n);
    assert.equal(unrealisedPnl(e, 180n), 40n * 180n - 7_000n);
  });

  it("realises PnL on the closed part of a long and keeps the average of the rest", () => {
    const e = applyFill(applyFill(flat, 10n, 100n), -4n, 130n, 5n);
    assert.deepEqual(e, { size: 6n, costBasis: 600n, realisedPnl: 120n, feesPaid: 5n, fundingPaid: 0n });
    assert.equal(averageEntry(e), 100n);
  });

  it("realises a short's profit when it is bought back lower", () => {
    const e = applyFill(applyFill(flat, -10n, 100n), 10n, 90n);
    assert.deepEqual(e, { size: 0n, costBasis: 0n, realisedPnl: 100n, feesPaid: 0n, fundingPaid: 0n });
  });

  it("a fill through zero closes the position and opens the rest at the fill price", () => {
    const e = applyFill(applyFill(flat, 10n, 100n), -15n, 80n);
    assert.deepEqual(e, { size: -5n, costBasis: -400n, realisedPnl: -200n, feesPaid: 0n, fundingPaid: 0n });
    assert.equal(averageEntry(e), 80n);
  });

  it("keeps entries per account and instrument", () => {
    const l = new PositionLedger();
    l.fill(1, 0, 3n, 10n, 1n);
    l.fill(1, 1, -2n, 20n);
    assert.equal(l.entry(1, 0).size, 3n);
    assert.equal(l.entry(1, 1).costBasis, -40n);
    assert.equal(l.entry(2, 0).size, 0n);
  });

  it("adds up the funding settled on a position, signed, and keeps it through fills and snapshots", () => {
    const l = new PositionLedger();
    l.fill(1, 0, 3n, 10n);
    l.funding(1, 0, 7n);
    l.funding(1, 0, -2n);
    l.fill(1, 0, -3n, 12n);
    assert.deepEqual(l.entry(1, 0), { size: 0n, costBasis: 0n, realisedPnl: 6n, feesPaid: 0n, fundingPaid: 5n });
    const restored = new PositionLedger();
    const { fundingPaid: _f, ...older } = l.entry(1, 0);
    restored.load([["1:0", older as LedgerEntry]]); // a snapshot from before funding was kept
    assert.equal(restored.entry(1, 0).fundingPaid, 0n);
  });

  it("undoes a fill that opened or extended the position exactly, long or short (a trade no batch proved)", () => {
    const long = applyFill(applyFill(flat, 10n, 100n, 3n), -4n, 130n, 2n); // 6 left at 100, 120 realised
    assert.deepEqual(unapplyFill(applyFill(long, 10n, 120n, 7n), 10n, 120n, 7n), long);
    const short = applyFill(flat, -5n, 90n, 1n);
    assert.deepEqual(unapplyFill(applyFill(short, -3n, 95n, 4n), -3n, 95n, 4n), short);
    assert.deepEqual(unapplyFill(applyFill(flat, 8n, 70n, 2n), 8n, 70n, 2n), flat);
  });

  it("undoes a fill that reduced or flipped the position as the opposite fill at its price: size and fees exact", () => {
    const long = applyFill(flat, 10n, 100n, 3n);
    const reduced = unapplyFill(applyFill(long, -4n, 130n, 2n), -4n, 130n, 2n);
    assert.equal(reduced.size, 10n);
    assert.equal(reduced.feesPaid, 3n);
    const flipped = unapplyFill(applyFill(long, -15n, 130n, 2n), -15n, 130n, 2n);
    assert.equal(flipped.size, 10n);
    assert.equal(flipped.feesPaid, 3n);
  });
});
