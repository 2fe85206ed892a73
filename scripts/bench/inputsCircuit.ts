/**
 * A stand-in for a large circuit in gas measurements: a Groth16 circuit with `n` public inputs and nothing else
 * to prove (one squaring constraint per input). Its generated verifier (scripts/build/batchVerifierContract.ts)
 * runs exactly the code a verifier of any other circuit with `n` public inputs runs, and the gas of that code
 * depends only on `n`, the proof count and the input values (a zero input skips its multiplication), never on
 * the circuit behind the key. So a custodian at production size can be measured with real proofs of its real
 * public inputs, each proved in a fraction of a second, without the production batch circuit's build (10+
 * minutes) or its proofs (about 13 s each).
 */
import { readFileSync } from "node:fs";
import { buildCircuit, type CircuitBuild } from "../build/circuitBuild.ts";
import { SnarkjsDevice } from "../../fpga-prover/snarkjsDevice.ts";
import { toCalldataProof, type CalldataProof } from "../../sequencer/protocol/calldataProof.ts";

/** The main source of the stand-in circuit with `n` public inputs `x[0..n)`. */
export function inputsCircuitSource(n: number): string {
  if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`inputsCircuitSource: n must be a positive integer, got ${n}`);
  return [
    "pragma circom 2.1.0;",
    "template PublicInputs(n) {",
    "    signal input x[n];",
    "    signal sq[n];",
    "    for (var i = 0; i < n; i++) sq[i] <== x[i] * x[i];",
    "}",
    `component main {public [x]} = PublicInputs(${n});`,
    "",
  ].join("\n");
}

/** A built stand-in circuit and a prover of its inputs. */
export type InputsCircuit = {
  /** The cached build (its `verifierSol` is what deployExchange takes). */
  build: CircuitBuild;
  /** A real proof (calldata order) that `inputs`, `n` of them each below the field modulus, are the public inputs. */
  prove(inputs: readonly bigint[]): Promise<CalldataProof>;
};

/** Builds (cached under build/circuits/, a few seconds the first time) the stand-in circuit with `n` public inputs. */
export async function buildInputsCircuit(n: number): Promise<InputsCircuit> {
  const build = await buildCircuit({ name: `publicInputs_n${n}`, mainSource: inputsCircuitSource(n), setup: "dev" });
  const keys = { wasm: build.wasm, zkey: build.zkey, vkey: JSON.parse(readFileSync(build.vkey, "utf8")) as unknown };
  const device = new SnarkjsDevice();
  return {
    build,
    async prove(inputs) {
      if (inputs.length !== n) throw new RangeError(`expected ${n} public inputs, got ${inputs.length}`);
      const { proof } = await device.prove(keys, { x: inputs.map(String) });
      return toCalldataProof(proof);
    },
  };
}
