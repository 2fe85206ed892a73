/**
 * scripts/build/circuits.ts's key options: development keys unless a powers-of-tau file is given; a ceremony needs
 * its beacon, a sane contribution count and beacon exponent; a ceremony option without `--ptau` is refused rather
 * than silently ignored (keys an operator believed were a ceremony's would be INSECURE).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { keySetup } from "../../../scripts/build/circuits.ts";

describe("circuits.ts key options", () => {
  it("development keys without --ptau", () => {
    assert.equal(keySetup({}), "dev");
  });

  it("a ceremony with --ptau: its contributions (default 1), its beacon (0x optional) and exponent", () => {
    assert.deepEqual(keySetup({ ptau: "p.ptau", beacon: "0xabcd" }), { ptau: "p.ptau", contributions: 1, beacon: "abcd" });
    assert.deepEqual(keySetup({ ptau: "p.ptau", contributions: "3", beacon: "00ff", beaconIterations: "12" }), {
      ptau: "p.ptau", contributions: 3, beacon: "00ff", beaconIterationsExp: 12,
    });
  });

  it("refuses ceremony options without --ptau, a missing or non-hex beacon, a bad count or exponent", () => {
    assert.throws(() => keySetup({ beacon: "abcd" }), /give --ptau too/);
    assert.throws(() => keySetup({ contributions: "2" }), /give --ptau too/);
    assert.throws(() => keySetup({ ptau: "p.ptau" }), /--beacon \(missing\)/);
    assert.throws(() => keySetup({ ptau: "p.ptau", beacon: "xyz" }), /--beacon xyz/);
    assert.throws(() => keySetup({ ptau: "p.ptau", beacon: "abc" }), /--beacon abc/, "an odd number of hex digits is not bytes");
    assert.throws(() => keySetup({ ptau: "p.ptau", beacon: "ab", contributions: "0" }), /--contributions 0/);
    assert.throws(() => keySetup({ ptau: "p.ptau", beacon: "ab", beaconIterations: "9" }), /--beacon-iterations 9/);
  });
});
