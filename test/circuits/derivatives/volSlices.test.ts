/**
 * The oracle's vol table (DERIVATIVES.md "Vol slices", RULES.md VS1-VS3) at the batch circuit. The table is the
 * oracle's signature, but a malformed one must still be refused: two slices for one (underlying, expiry) would let the
 * operator pick the vol of an option (SliceVol sums the matching slices), and an empty slice carrying values, a slice
 * out of order or beyond the underlyings would make the table (and so the public data) say two things. Each attack
 * signs the malformed table with the oracle's key, builds the witness with the checks off, and is refused at the
 * rule's own constraint; the honest builder refuses it first (BAD_ORACLE_VOL), changing nothing.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { EMPTY_SLICE, type VolSlice } from "../../../sequencer/protocol/volSlices.ts";
import { derivativesState, derivTrade, EXPIRY, oracleUpdate, VOL, volSlices } from "../../helpers/derivatives.ts";
import { builderRefuses, loadBatchCircuit, refuses, rule, witnessFailure } from "../../helpers/circuitRules.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";

const slice = (fields: Partial<VolSlice> = {}): VolSlice => ({ underlying: 0, expiry: EXPIRY, levelPpm: VOL, slopePpm: 0n, ...fields });
/** A call trade at 60 quote: the batch marks the options, so the table is read. */
const CALL_TRADE = () => derivTrade(2, 10n, 6_000n);

describe("vol slices: the oracle's table is well formed (VolSlices)", { timeout: 600_000 }, () => {
  before(async () => {
    await loadBatchCircuit(TEST_PARAMS);
  });

  it("accepts the honest table: the options' slice in use first, an empty slice after; a skewed one too", async () => {
    for (const table of [volSlices(), volSlices(VOL, -750_000n)]) {
      assert.equal(await witnessFailure(derivativesState(), [CALL_TRADE()], { oracle: oracleUpdate({ volSlices: table }) }), null);
    }
  });

  const attacks: [string, VolSlice[], string][] = [
    // The same (underlying, expiry) twice, at two levels: the operator would price the call with either.
    ["two slices for one (underlying, expiry) are refused at the order rule", [slice(), slice({ levelPpm: 2n * VOL })], "inUse[e] * (1 - ordered[e].out) === 0"],
    ["slices out of (underlying, expiry) order are refused at the order rule", [slice({ expiry: EXPIRY + 1 }), slice()], "inUse[e] * (1 - ordered[e].out) === 0"],
    ["a slice in use after an empty one is refused (the slices in use come first)", [EMPTY_SLICE, slice()], "inUse[e] * (1 - inUse[e - 1]) === 0"],
    ["an empty slice (level 0) with a slope is refused", [slice(), { ...EMPTY_SLICE, slopePpm: 5n }], "empty[e].out * slope[e] === 0"],
    ["an empty slice (level 0) with an expiry is refused", [slice(), { ...EMPTY_SLICE, expiry: EXPIRY + 1 }], "empty[e].out * expiry[e] === 0"],
    ["an empty slice (level 0) with an underlying is refused", [slice(), { ...EMPTY_SLICE, underlying: 1 }], "empty[e].out * underlying[e] === 0"],
    ["a slice in use with expiry 0 is refused", [slice({ expiry: 0 }), EMPTY_SLICE], "inUse[e] * noExpiry[e].out === 0"],
    ["a slice for an underlying the circuit does not price (1 of 1) is refused", [slice(), slice({ underlying: 1 })], "if (U < 4) uIn[e][U - 1] === 0;"],
  ];
  for (const [title, table, text] of attacks) {
    it(title, async () => {
      const oracle = oracleUpdate({ volSlices: table });
      builderRefuses(derivativesState(), [CALL_TRADE()], "BAD_ORACLE_VOL", { oracle });
      await refuses(derivativesState(), [CALL_TRADE()], rule("VolSlices", text), { oracle });
    });
  }

  it("a slope past 24 signed bits has no witness: refused at its range check (the public data cannot carry it either)", async () => {
    // 2^23 does not fit the signed word nor the slice's 3 bytes, so it can only be fed to the witness directly.
    await refuses(derivativesState(), [CALL_TRADE()], rule("VolSlices", "slopeBits[e].in <=="), {}, (i) => {
      i.sliceSlope = [String(1n << 23n), "0"];
    });
  });

  it("the operator cannot swap the signed table for another (the options' slice dropped): refused at the oracle's signature", async () => {
    // The oracle signed the table naming the options' expiry; the operator's section names another expiry (the options
    // then marked at the floor vol), hashed consistently into the public data.
    const swapped = { ...oracleUpdate(), volSlices: volSlices(VOL, 0n, EXPIRY + 1) };
    builderRefuses(derivativesState(), [CALL_TRADE()], "BAD_ORACLE_SIGNATURE", { oracle: swapped });
    await refuses(derivativesState(), [CALL_TRADE()], rule("EdDSAPoseidonVerifier", "eqCheckX.in[1] <== addRight.xout"), { oracle: swapped });
  });
});
