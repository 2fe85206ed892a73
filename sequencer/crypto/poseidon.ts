/** Poseidon over the BN254 scalar field, circomlib's parameters (what circuits/ uses). */
import { buildPoseidon } from "circomlibjs";

const instance = await buildPoseidon();

/** Poseidon hash of 1 to 16 field elements. */
export function poseidon(inputs: readonly bigint[]): bigint {
  return instance.F.toObject(instance(inputs));
}
