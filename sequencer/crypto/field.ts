/** BN254 scalar field: the field of circuit signals, Poseidon and Baby Jubjub coordinates. */
export const FIELD_MODULUS = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
/** BN254's base field (the coordinates of proof points), the custodian's verifier's Q: every proof coordinate is below it. */
export { BN254_Q as BASE_FIELD_MODULUS } from "../../fpga-prover/proofForm.ts";

/** A signed integer as the field element the circuit holds (v mod p). */
export function fieldOf(v: bigint): bigint {
  return ((v % FIELD_MODULUS) + FIELD_MODULUS) % FIELD_MODULUS;
}
