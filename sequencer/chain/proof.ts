/** Converts a snarkjs proof to the custodian's `uint256[8]` layout (see Custodian.submitBatch). */
import type { Groth16Proof } from "snarkjs";

export type CalldataProof = readonly [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint];

/** [a0, a1, b00, b01, b10, b11, c0, c1] with each G2 coordinate pair swapped, as the EVM pairing expects. */
export function toCalldataProof(p: Groth16Proof): CalldataProof {
  const n = (s: string) => BigInt(s);
  return [
    n(p.pi_a[0]), n(p.pi_a[1]),
    n(p.pi_b[0][1]), n(p.pi_b[0][0]), n(p.pi_b[1][1]), n(p.pi_b[1][0]),
    n(p.pi_c[0]), n(p.pi_c[1]),
  ];
}
