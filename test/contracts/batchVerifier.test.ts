/**
 * The batched Groth16 verifier generated from the TEST_PARAMS batch circuit's key
 * (scripts/build/batchVerifierContract.ts), with real proofs of three consecutive real batches
 * (test/helpers/provenBatches.ts), each with its public data as public inputs in 31-byte chunks: each proof alone and
 * all together are accepted; a set with one proof swapped for another batch's, one input changed, a coordinate >= Q,
 * an input >= R or mismatched lengths is refused.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { network } from "hardhat";
import type { Abi, Address } from "viem";

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { batchVerifierSource, compileBatchVerifier, type Groth16VerificationKey } from "../../scripts/build/batchVerifierContract.ts";
import { compileVerifier } from "../../scripts/build/verifierContract.ts";
import type { CalldataProof } from "../../sequencer/protocol/calldataProof.ts";
import { provenBatches, type ProvenBatch } from "../helpers/provenBatches.ts";

const { viem } = await network.create();
const publicClient = await viem.getPublicClient();
const [deployer] = await viem.getWalletClients();

/** BN254 scalar field (inputs) and base field (coordinates). */
const R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
const Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;

describe("batched Groth16 verifier (real TEST_PARAMS proofs)", () => {
  let abi: Abi;
  let verifier: Address;
  let batches: ProvenBatch[];

  before(async () => {
    const proven = await provenBatches(3);
    batches = proven.batches;
    const compiled = compileBatchVerifier(proven.circuit.verifierSol);
    abi = compiled.abi;
    const hash = await deployer.deployContract({ abi, bytecode: compiled.bytecode });
    verifier = (await publicClient.waitForTransactionReceipt({ hash })).contractAddress!;
  });

  const single = (proof: CalldataProof | bigint[], inputs: readonly bigint[]) =>
    publicClient.readContract({
      address: verifier, abi, functionName: "verifyProof",
      args: [[proof[0], proof[1]], [[proof[2], proof[3]], [proof[4], proof[5]]], [proof[6], proof[7]], inputs],
    }) as Promise<boolean>;
  const together = (proofs: readonly (CalldataProof | bigint[])[], inputs: readonly bigint[]) =>
    publicClient.readContract({ address: verifier, abi, functionName: "verifyProofs", args: [proofs, inputs] }) as Promise<boolean>;
  const proofsOf = (bs: ProvenBatch[]) => bs.map((b) => b.proof);
  /** The inputs of a set, proof by proof, flattened as verifyProofs takes them. */
  const inputsOf = (bs: ProvenBatch[]) => bs.flatMap((b) => b.inputs);
  /** Public inputs per proof. */
  const n = () => batches[0]!.inputs.length;

  it("accepts each real proof alone (verifyProof and verifyProofs of one) and refuses it for another batch's input", async () => {
    for (const [i, b] of batches.entries()) {
      assert.ok(b.inputs.length > 1, "the public data spans several inputs");
      assert.equal(await single(b.proof, b.inputs), true, `batch ${i}`);
      assert.equal(await together([b.proof], b.inputs), true, `batch ${i} as a set of one`);
      const other = batches[(i + 1) % batches.length];
      assert.equal(await single(b.proof, other.inputs), false, `batch ${i}'s proof for batch ${i + 1}'s inputs`);
      assert.equal(await together([b.proof], other.inputs), false);
    }
  });

  it("accepts the sets of 2 and 3 proofs, in any order, and repeated proofs", async () => {
    assert.equal(await together(proofsOf(batches.slice(0, 2)), inputsOf(batches.slice(0, 2))), true);
    assert.equal(await together(proofsOf(batches), inputsOf(batches)), true);
    const rev = [...batches].reverse();
    assert.equal(await together(proofsOf(rev), inputsOf(rev)), true);
    const eight = Array.from({ length: 8 }, (_, i) => batches[i % 3]);
    assert.equal(await together(proofsOf(eight), inputsOf(eight)), true);
  });

  it("refuses the set when any one proof is replaced by another batch's proof", async () => {
    for (let i = 0; i < 3; i++) {
      const proofs = proofsOf(batches);
      proofs[i] = batches[(i + 1) % 3].proof;
      assert.equal(await together(proofs, inputsOf(batches)), false, `proof ${i} replaced`);
    }
    // Two proofs swapped (each valid, for the other's input): refused too.
    const swapped = proofsOf(batches);
    [swapped[0], swapped[1]] = [swapped[1], swapped[0]];
    assert.equal(await together(swapped, inputsOf(batches)), false);
  });

  it("refuses the set when one input is changed (by one, or to another batch's), and a proof's inputs in another order", async () => {
    for (let i = 0; i < 3; i++) {
      for (const j of [0, 1, n() - 1]) {
        const inputs = inputsOf(batches);
        inputs[i * n() + j] += 1n;
        assert.equal(await together(proofsOf(batches), inputs), false, `input ${j} of proof ${i} + 1`);
      }
      const other = inputsOf(batches);
      other[i * n()] = batches[(i + 2) % 3].inputs[0]!; // the old root's chunk: differs between batches
      assert.equal(await together(proofsOf(batches), other), false, `input 0 of proof ${i} from another batch`);
    }
    const [first, second, ...rest] = batches[0]!.inputs;
    assert.equal(await single(batches[0]!.proof, [second!, first!, ...rest]), false, "two chunks swapped");
  });

  it("refuses a coordinate >= Q and an input >= R (the same point or value plus the modulus), alone and in a set", async () => {
    for (let w = 0; w < 8; w++) {
      const proofs = proofsOf(batches).map((p) => [...p]);
      proofs[1][w] += Q;
      assert.equal(await together(proofs, inputsOf(batches)), false, `coordinate ${w} + Q`);
      const alone = [...batches[0].proof];
      alone[w] += Q;
      assert.equal(await single(alone, batches[0].inputs), false, `coordinate ${w} + Q, verifyProof`);
    }
    const inputs = inputsOf(batches);
    inputs[2 * n()] += R;
    assert.equal(await together(proofsOf(batches), inputs), false, "input + R");
    const plusR = [...batches[0].inputs];
    plusR[1] += R;
    assert.equal(await single(batches[0].proof, plusR), false, "input + R, verifyProof");
  });

  it("refuses mismatched lengths and the empty set", async () => {
    assert.equal(await together(proofsOf(batches), inputsOf(batches).slice(0, 2 * n())), false);
    assert.equal(await together(proofsOf(batches), inputsOf(batches).slice(0, -1)), false);
    assert.equal(await together(proofsOf(batches).slice(0, 2), inputsOf(batches)), false);
    assert.equal(await together(proofsOf(batches), [...inputsOf(batches), 0n]), false);
    assert.equal(await together([], []), false);
  });

  it("general nPublic: the key with IC1 repeated as an extra last point accepts a proof of (x, ...) as (x, ..., 0) and (0, ..., x), alone and together, and nothing else", async () => {
    const circuit = (await provenBatches(3)).circuit;
    const vkey = JSON.parse(readFileSync(circuit.vkey, "utf8")) as Groth16VerificationKey;
    const two: Groth16VerificationKey = { ...vkey, nPublic: vkey.nPublic + 1, IC: [...vkey.IC, vkey.IC[1]!] };
    const dir = mkdtempSync(join(tmpdir(), "batchVerifier2-"));
    const sol = join(dir, "TwoInputsVerifier.sol");
    writeFileSync(sol, batchVerifierSource(two, "TwoInputs"));
    const compiled = compileVerifier(sol);
    rmSync(dir, { recursive: true });
    const hash = await deployer.deployContract({ abi: compiled.abi, bytecode: compiled.bytecode });
    const at = (await publicClient.waitForTransactionReceipt({ hash })).contractAddress!;
    const read = (functionName: string, args: readonly unknown[]) =>
      publicClient.readContract({ address: at, abi: compiled.abi, functionName, args }) as Promise<boolean>;
    const [b0, b1] = batches;
    const p = b0.proof;
    const one = (inputs: bigint[]) => read("verifyProof", [[p[0], p[1]], [[p[2], p[3]], [p[4], p[5]]], [p[6], p[7]], inputs]);
    const [x0, ...rest0] = b0.inputs;
    const [x1, ...rest1] = b1.inputs;
    assert.equal(await one([x0!, ...rest0, 0n]), true);
    assert.equal(await one([0n, ...rest0, x0!]), true);
    assert.equal(await one([x0!, ...rest0, 1n]), false);
    assert.equal(await read("verifyProofs", [[b0.proof, b1.proof], [x0!, ...rest0, 0n, 0n, ...rest1, x1!]]), true);
    assert.equal(await read("verifyProofs", [[b0.proof, b1.proof], [x0!, ...rest0, 1n, 0n, ...rest1, x1!]]), false);
    assert.equal(await read("verifyProofs", [[b0.proof, b1.proof], [x0!, ...rest0, 0n, 0n, ...rest1]]), false);
  });
});
