/**
 * The proof calldata encoding: a snarkjs Groth16 proof as the custodian's `uint256[8]` (see
 * Custodian.submitBatch), and back. The sequencer encodes the proofs it posts; the verifier decodes the
 * posted ones to check them with snarkjs.
 */
import type { Groth16Proof } from "snarkjs";
import { BASE_FIELD_MODULUS } from "../crypto/field.ts";

export type CalldataProof = readonly [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint];

/**
 * Why `p` is not a proof in the one form the custodian takes, or null: affine points (z = 1, and ["1", "0"] for
 * pi_b), every coordinate a decimal integer below the base field's modulus. snarkjs.groth16.verify also reads
 * projective points and reduces coordinates modulo Q, so a proof that verifies there can still be an encoding the
 * custodian's verifier refuses (a coordinate + Q) or another point once z is dropped: a prover's answer is held to
 * this form before it is verified (QueueProver), and toCalldataProof refuses anything else.
 */
export function nonCanonicalProof(p: Groth16Proof): string | null {
  const coordinate = (v: unknown) => typeof v === "string" && /^(0|[1-9][0-9]{0,76})$/.test(v) && BigInt(v) < BASE_FIELD_MODULUS;
  const pair = (v: unknown) => Array.isArray(v) && v.length === 2 && v.every(coordinate);
  const is = (v: unknown, want: readonly string[]) => Array.isArray(v) && v.length === want.length && v.every((x, i) => x === want[i]);
  if (!Array.isArray(p.pi_a) || p.pi_a.length !== 3 || !coordinate(p.pi_a[0]) || !coordinate(p.pi_a[1]) || p.pi_a[2] !== "1") return "pi_a is not an affine point below Q";
  if (!Array.isArray(p.pi_c) || p.pi_c.length !== 3 || !coordinate(p.pi_c[0]) || !coordinate(p.pi_c[1]) || p.pi_c[2] !== "1") return "pi_c is not an affine point below Q";
  if (!Array.isArray(p.pi_b) || p.pi_b.length !== 3 || !pair(p.pi_b[0]) || !pair(p.pi_b[1]) || !is(p.pi_b[2], ["1", "0"])) return "pi_b is not an affine point below Q";
  return null;
}

/**
 * [a0, a1, b00, b01, b10, b11, c0, c1] with each G2 coordinate pair swapped, as the EVM pairing expects; throws for a
 * proof not in the canonical form (nonCanonicalProof).
 */
export function toCalldataProof(p: Groth16Proof): CalldataProof {
  const why = nonCanonicalProof(p);
  if (why) throw new RangeError(`not a canonical proof: ${why}`);
  const n = (s: string) => BigInt(s);
  return [
    n(p.pi_a[0]), n(p.pi_a[1]),
    n(p.pi_b[0][1]), n(p.pi_b[0][0]), n(p.pi_b[1][1]), n(p.pi_b[1][0]),
    n(p.pi_c[0]), n(p.pi_c[1]),
  ];
}

/**
 * Inverse of toCalldataProof: [a0, a1, b00, b01, b10, b11, c0, c1] with each G2 coordinate pair swapped
 * back (the EVM pairing takes the imaginary part first), as affine points with z = 1, which is what
 * snarkjs.groth16.verify reads.
 */
export function fromCalldataProof(p: CalldataProof | readonly bigint[]): Groth16Proof {
  if (p.length !== 8) throw new RangeError(`a calldata proof has 8 words, got ${p.length}`);
  const s = p.map((v) => v.toString());
  return {
    pi_a: [s[0], s[1], "1"],
    pi_b: [[s[3], s[2]], [s[5], s[4]], ["1", "0"]],
    pi_c: [s[6], s[7], "1"],
    protocol: "groth16",
    curve: "bn128",
  };
}
