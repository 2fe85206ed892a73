/**
 * The one form of a Groth16 proof the custodian reads (its uint256[8] calldata: x and y of each point, each below the
 * base field's modulus): what a prover's answer is held to before it is verified (QueueProver), and what
 * sequencer/protocol/calldataProof.ts encodes.
 */
import type { Groth16Proof } from "snarkjs";

/** BN254's base field (the coordinates of proof points), the custodian's verifier's Q. */
export const BN254_Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;

/**
 * Why `p` is not a proof in the one form the custodian takes, or null: affine points (z = 1, and ["1", "0"] for
 * pi_b), every coordinate a decimal integer below the base field's modulus. snarkjs.groth16.verify also reads
 * projective points and reduces coordinates modulo Q, so a proof that verifies there can still be an encoding the
 * custodian's verifier refuses (a coordinate + Q) or another point once z is dropped: a prover's answer is held to
 * this form before it is verified (QueueProver), and toCalldataProof (sequencer/protocol/calldataProof.ts) refuses
 * anything else.
 */
export function nonCanonicalProof(p: Groth16Proof): string | null {
  const coordinate = (v: unknown) => typeof v === "string" && /^(0|[1-9][0-9]{0,76})$/.test(v) && BigInt(v) < BN254_Q;
  const pair = (v: unknown) => Array.isArray(v) && v.length === 2 && v.every(coordinate);
  const is = (v: unknown, want: readonly string[]) => Array.isArray(v) && v.length === want.length && v.every((x, i) => x === want[i]);
  if (!Array.isArray(p.pi_a) || p.pi_a.length !== 3 || !coordinate(p.pi_a[0]) || !coordinate(p.pi_a[1]) || p.pi_a[2] !== "1") return "pi_a is not an affine point below Q";
  if (!Array.isArray(p.pi_c) || p.pi_c.length !== 3 || !coordinate(p.pi_c[0]) || !coordinate(p.pi_c[1]) || p.pi_c[2] !== "1") return "pi_c is not an affine point below Q";
  if (!Array.isArray(p.pi_b) || p.pi_b.length !== 3 || !pair(p.pi_b[0]) || !pair(p.pi_b[1]) || !is(p.pi_b[2], ["1", "0"])) return "pi_b is not an affine point below Q";
  return null;
}

