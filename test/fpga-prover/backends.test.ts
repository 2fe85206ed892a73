/**
 * Every available proving backend proves the same witness, and each proof verifies with snarkjs and with
 * the snarkjs-exported Solidity verifier on a Hardhat chain (a tampered public input fails both).
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { network } from "hardhat";
import * as snarkjs from "snarkjs";
import { buildPoseidon } from "circomlibjs";
import type { Abi, Address, PublicClient, WalletClient } from "viem";
import { buildCircuit, REPO_ROOT, type CircuitBuild } from "../../scripts/build/circuitBuild.ts";
import { compileVerifier } from "../../scripts/build/verifierContract.ts";
import { deploy } from "../../scripts/deploy/deployExchange.ts";
import type { ProvingDevice } from "../../fpga-prover/device.ts";
import { isNativeAvailable, nativeUnavailableReason, NativeDevice } from "../../fpga-prover/nativeDevice.ts";
import { SnarkjsDevice } from "../../fpga-prover/snarkjsDevice.ts";
import { toCalldataProof } from "../../sequencer/protocol/calldataProof.ts";

const backends: ProvingDevice[] = [new SnarkjsDevice(), ...(isNativeAvailable() ? [new NativeDevice()] : [])];
if (!isNativeAvailable()) console.log(`native backend not tested here: ${nativeUnavailableReason()}`);

describe("proving backends on the same witness", { timeout: 300_000 }, () => {
  let build: CircuitBuild;
  let vkey: unknown;
  let input: Record<string, unknown>;
  let publicClient: PublicClient;
  let verifier: Address;
  let abi: Abi;

  before(async () => {
    const source = await readFile(join(REPO_ROOT, "test", "fixtures", "circuits", "poseidonProduct.circom"), "utf8");
    build = await buildCircuit({ name: "backendsTest", mainSource: source, setup: "dev", log: () => {} });
    vkey = JSON.parse(await readFile(build.vkey, "utf8"));
    const poseidon = await buildPoseidon();
    const factors = Array.from({ length: 16 }, (_, i) => BigInt(i + 5));
    input = {
      hash: poseidon.F.toObject(poseidon([11n, 13n])).toString(),
      product: factors.reduce((a, b) => a * b, 1n).toString(),
      preimage: ["11", "13"],
      factors: factors.map(String),
    };
    const { viem } = await network.create();
    publicClient = (await viem.getPublicClient()) as unknown as PublicClient;
    const [wallet] = (await viem.getWalletClients()) as unknown as WalletClient[];
    const compiled = compileVerifier(build.verifierSol);
    abi = compiled.abi;
    verifier = await deploy({ publicClient, walletClient: wallet }, compiled);
  });

  const onChain = async (proof: snarkjs.Groth16Proof, publicSignals: readonly string[]) => {
    const p = toCalldataProof(proof);
    return publicClient.readContract({
      address: verifier, abi, functionName: "verifyProof",
      args: [[p[0], p[1]], [[p[2], p[3]], [p[4], p[5]]], [p[6], p[7]], publicSignals.map(BigInt)],
    }) as Promise<boolean>;
  };

  for (const device of backends) {
    it(`${device.name}: verifies with snarkjs and on-chain, and a tampered public input fails both`, async () => {
      const keys = { wasm: build.wasm, zkey: build.zkey, vkey };
      const { proof, publicSignals } = await device.prove(keys, input);
      assert.deepEqual(publicSignals, [input.hash, input.product]);
      assert.equal(await snarkjs.groth16.verify(vkey, publicSignals, proof), true);
      assert.equal(await onChain(proof, publicSignals), true);
      const tampered = [publicSignals[0], (BigInt(publicSignals[1]) + 1n).toString()];
      assert.equal(await snarkjs.groth16.verify(vkey, tampered, proof), false);
      assert.equal(await onChain(proof, tampered), false);
    });
  }
});
