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
import { pushCode, verifierHoldsKey } from "../../../sequencer/sdk/exit.ts";

const word = (x: bigint) => x.toString(16).padStart(64, "0");
/** 32-byte coordinates, as a setup's are but for about one in 48 (below) */
const c = (k: bigint) => (k << 248n) | 0x1234n;
/** decimal strings, as snarkjs writes a vkey */
const delta = [[`${c(11n)}`, `${c(22n)}`], [`${c(33n)}`, `${c(44n)}`], ["1", "0"]];
const vkey = { vk_delta_2: delta };
/** code pushing `words` as solc pushes constants (the shortest PUSHn), between other instructions */
const code = (words: bigint[]): Hex => `0x6080${words.map(pushCode).join("60")}00`;

describe("verifierHoldsKey", () => {
  it("is true when the code holds the four coordinates of the key's delta, whatever else it holds", () => {
    assert.equal(verifierHoldsKey(code([c(11n), 5n, c(22n), c(33n), c(44n)]), vkey), true);
  });

  it("finds a coordinate whose top byte is 0, which solc pushes as 31 bytes (PUSH31), not 32 (CI of 2026-12-06: a right key was refused)", () => {
    const short = (0xaabbccn << 224n) | 0x1234n; // 31 bytes: its top byte (of 32) is 0
    assert.equal(pushCode(short).slice(0, 2), "7e");
    assert.equal(pushCode(c(11n)).slice(0, 2), "7f");
    const key = { vk_delta_2: [[`${short}`, `${c(22n)}`], [`${c(33n)}`, `${c(44n)}`]] };
    assert.equal(verifierHoldsKey(code([short, c(22n), c(33n), c(44n)]), key), true);
    assert.equal(verifierHoldsKey(code([short + 1n, c(22n), c(33n), c(44n)]), key), false);
  });

  it("is false for another setup's key (one coordinate differs), for no code (no verifier at the address), and for a delta split across words", () => {
    assert.equal(verifierHoldsKey(code([c(11n), c(22n), c(33n), c(45n)]), vkey), false);
    assert.equal(verifierHoldsKey(undefined, vkey), false);
    assert.equal(verifierHoldsKey("0x", vkey), false);
    assert.equal(verifierHoldsKey(`0x7f${word(c(11n)).slice(0, 32)}ff${word(c(11n)).slice(32)}${pushCode(c(22n))}${pushCode(c(33n))}${pushCode(c(44n))}`, vkey), false);
  });
});
