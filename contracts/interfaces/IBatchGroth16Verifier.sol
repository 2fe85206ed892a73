// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IGroth16Verifier} from "./IGroth16Verifier.sol";

/// @title IBatchGroth16Verifier
/// @notice A Groth16 verifier (one public signal) that also checks several proofs together: the contract
/// scripts/build/batchVerifierContract.ts generates from a circuit's verification key.
/// @dev {verifyProofs} combines the k checks with Fiat-Shamir scalars into one pairing-precompile call of k + 3
/// pairs (see the generated contract's notes for the math and its soundness).
interface IBatchGroth16Verifier is IGroth16Verifier {
    /// @notice Verifies k >= 1 proofs together.
    /// @param proofs Proof i as `[a0, a1, b00, b01, b10, b11, c0, c1]`: {verifyProof}'s three arguments flattened
    /// (B's coordinate pairs already swapped).
    /// @param inputs The public signals, proof by proof (here one per proof).
    /// @return True iff every proof is valid for its signals; false for no proofs or mismatched lengths.
    function verifyProofs(uint256[8][] calldata proofs, uint256[] calldata inputs) external view returns (bool);
}
