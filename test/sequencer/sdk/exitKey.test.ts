/**
 * The exit CLI and SDK check the exit key against the deployment before proving (review of 2026-12-06): a proof made
 * with another setup's key (a checkout's development key against a ceremony deployment) would be refused on chain
 * (InvalidProof) after the whole rebuild and proof. `verifierHoldsKey` reads the key's delta, unique to its setup, in
 * the deployed verifier's code, where the generated verifier keeps it as four 32-byte constants (the e2e exodus test
 * exits through it with the real generated verifier).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Hex } from "viem";
import { verifierHoldsKey } from "../../../sequencer/sdk/exit.ts";

const word = (x: bigint) => x.toString(16).padStart(64, "0");
/** decimal strings, as snarkjs writes a vkey */
const delta = [["11", "22"], ["33", "44"], ["1", "0"]];
const vkey = { vk_delta_2: delta };
const code = (words: bigint[]): Hex => `0x6080${words.map((w) => `7f${word(w)}`).join("60")}00`;

describe("verifierHoldsKey", () => {
  it("is true when the code holds the four coordinates of the key's delta, whatever else it holds", () => {
    assert.equal(verifierHoldsKey(code([11n, 5n, 22n, 33n, 44n]), vkey), true);
  });

  it("is false for another setup's key (one coordinate differs), for no code (no verifier at the address), and for a delta split across words", () => {
    assert.equal(verifierHoldsKey(code([11n, 22n, 33n, 45n]), vkey), false);
    assert.equal(verifierHoldsKey(undefined, vkey), false);
    assert.equal(verifierHoldsKey("0x", vkey), false);
    assert.equal(verifierHoldsKey(`0x${word(11n).slice(0, 32)}ff${word(11n).slice(32)}${word(22n)}${word(33n)}${word(44n)}`, vkey), false);
  });
});
