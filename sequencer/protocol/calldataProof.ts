/**
 * The proof calldata encoding: a snarkjs Groth16 proof as the custodian's `uint256[8]` (see
 * Custodian.submitBatch), and back. The sequencer encodes the proofs it posts; the verifier decodes the
 * posted ones to check them with snarkjs.
 */
import type { Groth16Proof } from "snarkjs";
import { nonCanonicalProof } from "../../fpga-prover/proofForm.ts";

export { nonCanonicalProof };

export type CalldataProof = readonly [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint];

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
