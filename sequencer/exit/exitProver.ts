/**
 * Proves an exit (circuits/exit/exit.circom) with the repository's proving devices: snarkjs by default
 * (any ProvingDevice, e.g. the native one, can be passed), checked before it is returned (SingleDeviceProver:
 * the proof verifies and its public inputs are the claim's, every one). The proof comes in the custodian's calldata
 * order (protocol/calldataProof.ts).
 */
import { readFile } from "node:fs/promises";
import type { CircuitKeys, ProvingDevice, StageTimings } from "../../fpga-prover/device.ts";
import { SingleDeviceProver } from "../../fpga-prover/prover.ts";
import { SnarkjsDevice } from "../../fpga-prover/snarkjsDevice.ts";
import { toCalldataProof, type CalldataProof } from "../protocol/calldataProof.ts";
import type { ExitInput } from "./exitWitness.ts";

/** The exit circuit's artifacts (a CircuitBuild from buildExitCircuit has them). */
export type ExitKeys = { wasm: string; zkey: string; vkey: string };

export type ExitProof = { proof: CalldataProof; publicInputs: bigint[]; timings: StageTimings & { verifyMs: number } };

/**
 * Proves `input` (exitWitness's) with the circuit `build`; resolves only with a proof that verifies for
 * the input's own public inputs (rejects otherwise, e.g. when the input breaks a rule of the circuit).
 */
export async function proveExit(build: ExitKeys, input: ExitInput, device: ProvingDevice = new SnarkjsDevice()): Promise<ExitProof> {
  const expected = input.publicInput;
  if (!Array.isArray(expected) || !expected.every((v): v is string => typeof v === "string")) {
    throw new TypeError("proveExit: the input carries no publicInput list");
  }
  const keys: CircuitKeys = { wasm: build.wasm, zkey: build.zkey, vkey: JSON.parse(await readFile(build.vkey, "utf8")) };
  const { proof, timings } = await new SingleDeviceProver(device, 1).prove(0, keys, input, expected);
  return { proof: toCalldataProof(proof), publicInputs: expected.map(BigInt), timings };
}
