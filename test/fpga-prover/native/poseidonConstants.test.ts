// Build-time generation of the native Poseidon constants from circomlibjs's own parameter file: the header
// lays out every t = 2..17 with the shapes circomlibjs uses, values as 64-bit limbs, and refuses a file
// whose shapes differ. (That the constants hash like circomlibjs is test/sequencer/crypto/poseidon.test.ts.)
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  POSEIDON_PARTIAL_ROUNDS, circomlibjsPoseidonConstantsPath, poseidonConstantsHeader,
} from "../../../fpga-prover/native/poseidonConstants.ts";

type Opt = { C: string[][]; S: string[][]; M: string[][][]; P: string[][][] };
const constants = JSON.parse(readFileSync(circomlibjsPoseidonConstantsPath(), "utf8")) as Opt;

function limbsOf(header: string, index: number): bigint {
  const body = header.slice(header.indexOf("kConstants["));
  const entries = body.slice(body.indexOf("{") + 1).split("},");
  const limbs = entries[index]!.replace(/[{}\s;]/g, "").split(",").map((l) => BigInt(l.replace("ULL", "")));
  return limbs.reduce((acc, l, i) => acc | (l << BigInt(64 * i)), 0n);
}

describe("poseidonConstants", () => {
  const header = poseidonConstantsHeader(constants);

  it("lays out t = 2..17 with circomlibjs's partial-round counts and block offsets", () => {
    const rows = [...header.matchAll(/^ {2}\{(\d+), (\d+), (\d+), (\d+), (\d+), (\d+)\},$/gm)].map((m) => m.slice(1).map(Number));
    assert.equal(rows.length, 16);
    let offset = 0;
    rows.forEach(([t, nRoundsP, offC, offS, offM, offP], k) => {
      assert.equal(t, k + 2);
      assert.equal(nRoundsP, POSEIDON_PARTIAL_ROUNDS[k]);
      assert.equal(offC, offset);
      assert.equal(offS, offC! + 8 * t! + nRoundsP!);
      assert.equal(offM, offS! + (2 * t! - 1) * nRoundsP!);
      assert.equal(offP, offM! + t! * t!);
      offset = offP! + t! * t!;
    });
    assert.match(header, new RegExp(`kConstants\\[${offset}\\]\\[4\\]`));
  });

  it("writes each value as its little-endian 64-bit limbs", () => {
    assert.equal(limbsOf(header, 0), BigInt(constants.C[0]![0]!));
    assert.equal(limbsOf(header, 1), BigInt(constants.C[0]![1]!));
    const offS1 = 8 * 2 + POSEIDON_PARTIAL_ROUNDS[0]; // t = 2: S follows C
    assert.equal(limbsOf(header, offS1), BigInt(constants.S[0]![0]!));
  });

  it("refuses a constants file whose shapes are not circomlibjs's", () => {
    const broken: Opt = { ...constants, C: [constants.C[0]!.slice(1), ...constants.C.slice(1)] };
    assert.throws(() => poseidonConstantsHeader(broken), /unexpected circomlibjs Poseidon constant shapes for t=2/);
  });
});
