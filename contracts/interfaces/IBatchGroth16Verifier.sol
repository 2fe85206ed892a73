// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IBatchGroth16Verifier
/// @notice A Groth16 verifier that checks one or several proofs, each against N_PUBLIC public inputs: the contract
/// scripts/build/batchVerifierContract.ts generates from a circuit's verification key. The custodian has two: the
/// batch circuit's (inputs: a batch's public data in 31-byte chunks, {PublicData-writePublicInputs}) and the exit
/// circuit's (an exit claim's public data cut the same way, {PublicData-publicInputsOfMemory}). That contract also has
/// snarkjs's `verifyProof(uint256[2], uint256[2][2], uint256[2], uint256[N_PUBLIC])`, whose input count depends on
/// the circuit, so it is not part of this interface.
/// @dev {verifyProofs} combines the k checks with Fiat-Shamir scalars into one pairing-precompile call of k + 3
/// pairs, and the public inputs of all k proofs into one multi-scalar multiplication of N_PUBLIC + 1 points (see
/// the generated contract's notes for the math and its soundness); k = 1 is the plain Groth16 check.
interface IBatchGroth16Verifier {
    /// @notice Verifies one proof: {verifyProofs} of `[proof]`, the plain Groth16 check.
    /// @param proof `[a0, a1, b00, b01, b10, b11, c0, c1]`, as in {verifyProofs}.
    /// @param inputs Its N_PUBLIC public inputs.
    /// @return True iff the proof is valid for the inputs; false for another input count.
    function verifyFlatProof(uint256[8] calldata proof, uint256[] calldata inputs) external view returns (bool);

    /// @notice Verifies k >= 1 proofs together.
    /// @param proofs Proof i as `[a0, a1, b00, b01, b10, b11, c0, c1]`: snarkjs's three proof arguments flattened
    /// (B's coordinate pairs already swapped).
    /// @param inputs The public inputs, proof by proof: `inputs[i * N_PUBLIC + j]` is input j of proof i.
    /// @return True iff every proof is valid for its inputs; false for no proofs or mismatched lengths.
    function verifyProofs(uint256[8][] calldata proofs, uint256[] calldata inputs) external view returns (bool);
}
