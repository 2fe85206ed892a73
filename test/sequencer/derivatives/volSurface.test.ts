/** sequencer/derivatives/volSurface.ts: the vol a slice gives an option, which options need one, and the feeder's table. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { sliceVol, needsVol, unpricedOptions, volsByInstrument } from "../../../sequencer/derivatives/volSurface.ts";
import { EMPTY_INSTRUMENT } from "../../../sequencer/derivatives/formulas.ts";
import { InstrumentKind, MIN_VOL_PPM } from "../../../sequencer/protocol/constants.ts";
import { EMPTY_SLICE, MAX_VOL_PPM, type VolSlice } from "../../../sequencer/protocol/volSlices.ts";
import { volSlicesFor } from "../../../sequencer/sdk/oracleFeeder.ts";
import type { InstrumentState, ListedInstrument } from "../../../sequencer/derivatives/formulas.ts";

const T = 1_800_000_000;
const S = 300_000_000_000n; // 3,000
const slice = (fields: Partial<VolSlice> = {}): VolSlice => ({ underlying: 0, expiry: T, levelPpm: 600_000n, slopePpm: -750_000n, ...fields });
const option = (kind: InstrumentState["kind"], strike: bigint, expiry = T, underlying = 0): InstrumentState => ({ ...EMPTY_INSTRUMENT, kind, strike, expiry, underlying, lotSizeE6: 10_000n });

describe("vol surface", () => {
  it("a slice's vol: the level at the money, the skew by moneyness floored, clamped to [2^13, 2^23 - 1]", () => {
    assert.equal(sliceVol(slice(), S, S), 600_000n);
    assert.equal(sliceVol(slice(), 270_000_000_000n, S), 675_000n, "10% below the index: +0.75 * 10%");
    assert.equal(sliceVol(slice(), 330_000_000_000n, S), 525_000n, "10% above: -7.5 points");
    assert.equal(sliceVol(slice({ slopePpm: -1n }), S + 1n, S), 599_999n, "a tiny negative term floors to -1");
    assert.equal(sliceVol(slice({ slopePpm: 1n }), S + 1n, S), 600_000n, "a tiny positive term floors to 0");
    assert.equal(sliceVol(slice({ slopePpm: -(1n << 23n) }), 3n * S, S), MIN_VOL_PPM);
    assert.equal(sliceVol(slice({ slopePpm: (1n << 23n) - 1n }), 3n * S, S), MAX_VOL_PPM);
  });

  it("options need a vol while unsettled and before their expiry; every other instrument is marked at the floor (unread)", () => {
    const call = option(InstrumentKind.CALL, S);
    assert.equal(needsVol(call, T - 1), true);
    assert.equal(needsVol(call, T), false, "at its expiry: marked at zero time left");
    assert.equal(needsVol({ ...call, settlePrice: S }, T - 1), false, "settled");
    assert.equal(needsVol(option(InstrumentKind.FUTURE, 0n), T - 1), false);
    const table = [option(InstrumentKind.PERPETUAL, 0n, 0), call, option(InstrumentKind.PUT, 270_000_000_000n), option(InstrumentKind.PUT, S, T + 7)];
    const slices = [slice(), EMPTY_SLICE];
    assert.deepEqual(volsByInstrument(table, [S], slices, T - 1), [MIN_VOL_PPM, 600_000n, 675_000n, MIN_VOL_PPM]);
    assert.deepEqual(unpricedOptions(table, slices, T - 1), [3], "the put of another expiry has no slice");
    assert.deepEqual(unpricedOptions(table, [slice(), slice({ expiry: T + 7 })], T - 1), []);
  });

  it("the feeder's table holds a slice per (underlying, expiry) of the live options, sorted, and refuses more than fit", () => {
    const listed = (id: number, kind: InstrumentState["kind"], expiry: number, underlying = 0, settlePrice = 0n) =>
      ({ ...option(kind, S, expiry, underlying), instrumentId: id, settlePrice }) as unknown as ListedInstrument;
    const instruments = [
      listed(0, InstrumentKind.PERPETUAL, 0), listed(1, InstrumentKind.CALL, T + 7), listed(2, InstrumentKind.PUT, T + 7),
      listed(3, InstrumentKind.CALL, T, 1), listed(4, InstrumentKind.PUT, T), listed(5, InstrumentKind.CALL, T - 5), listed(6, InstrumentKind.PUT, T + 9, 0, S),
    ];
    const asked: string[] = [];
    const surface = (u: number, e: number) => (asked.push(`${u}:${e}`), { levelPpm: 500_000n + BigInt(u), slopePpm: 0n });
    const table = volSlicesFor(instruments, T - 1, surface, 4);
    assert.deepEqual(table.map((s) => [s.underlying, s.expiry]), [[0, T], [0, T + 7], [1, T], [0, 0]], "expired (id 5) and settled (id 6) options need none");
    assert.equal(asked.length, 3);
    assert.throws(() => volSlicesFor(instruments, T - 1, surface, 2), /3 vol slices/);
  });
});
