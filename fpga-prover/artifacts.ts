/**
 * The circuit artifacts a prover runs on, taken from paths the operator gives (the wasm witness
 * calculator, the proving key, the verification key): never built or keyed by the process that uses them.
 * Production keys come from the phase-2 ceremony (scripts/setup/ceremony.ts); only the devnet and the
 * tests build the circuit and make dev keys (scripts/build/circuit.ts prints the paths of a build).
 */
import { existsSync, readFileSync } from "node:fs";
import type { CircuitKeys } from "./device.ts";

/** Paths of the batch circuit's artifacts. */
export type CircuitArtifactPaths = { wasm: string; zkey: string; vkey: string };

/** Which circuit the artifacts are of, for the messages: its name and the prefix of its command-line flags (`--<prefix>wasm`). */
export type ArtifactsOf = { circuit: string; flagPrefix: string };

/** A Groth16 verification key as snarkjs writes it (the fields checked here). */
type VerificationKey = { protocol?: unknown; curve?: unknown; nPublic?: unknown };

/**
 * The keys of the artifacts at these paths, after checking each file exists and the verification key is a
 * BN254 Groth16 key with `publicInputs` public inputs (the batch circuit's for the parameters the process runs
 * with: publicInputCount(publicDataBytes(params)); `of` names another circuit, e.g. the marking circuit's with its
 * three), so a key of another circuit size is refused at start; throws a message naming the bad path and its flag.
 */
export function loadCircuitArtifacts(paths: CircuitArtifactPaths, publicInputs: number, of: ArtifactsOf = { circuit: "batch", flagPrefix: "" }): CircuitKeys {
  const flag = (what: string) => `--${of.flagPrefix}${what}`;
  for (const [what, path] of Object.entries(paths)) {
    if (!existsSync(path)) throw new Error(`${flag(what)} ${path}: no such file`);
  }
  let vkey: VerificationKey;
  try {
    vkey = JSON.parse(readFileSync(paths.vkey, "utf8")) as VerificationKey;
  } catch (e) {
    throw new Error(`${flag("vkey")} ${paths.vkey}: not JSON (${(e as Error).message})`);
  }
  if (vkey.protocol !== "groth16" || vkey.curve !== "bn128" || vkey.nPublic !== publicInputs) {
    throw new Error(
      `${flag("vkey")} ${paths.vkey}: not a Groth16 BN254 verification key with ${publicInputs} public inputs (the ${of.circuit} circuit's at these parameters; ` +
        `it has ${String(vkey.nPublic)})`,
    );
  }
  return { wasm: paths.wasm, zkey: paths.zkey, vkey };
}
