// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IGroth16Verifier
/// @notice The interface of the Groth16 verifier contract that `snarkjs zkey export solidityverifier` generates
/// for a circuit with exactly one public signal.
/// @dev The argument order is the one `snarkjs zkey export soliditycalldata` prints: `_pB` is already in the
/// EVM pairing precompile's order, i.e. each G2 coordinate pair of snarkjs's `proof.pi_b` is swapped
/// (`_pB[i] = [pi_b[i][1], pi_b[i][0]]`).
interface IGroth16Verifier {
    /// @notice Verifies a Groth16 proof against one public signal.
    /// @param _pA The proof's A point (G1): `[pi_a[0], pi_a[1]]`.
    /// @param _pB The proof's B point (G2), coordinates swapped: `[[pi_b[0][1], pi_b[0][0]], [pi_b[1][1], pi_b[1][0]]]`.
    /// @param _pC The proof's C point (G1): `[pi_c[0], pi_c[1]]`.
    /// @param _pubSignals The public signals; here the exit circuit's single input `sha256(exit public data) >> 3` (the batch verifier is {IBatchGroth16Verifier}).
    /// @return True iff the proof is valid for these public signals.
    function verifyProof(
        uint256[2] calldata _pA,
        uint256[2][2] calldata _pB,
        uint256[2] calldata _pC,
        uint256[1] calldata _pubSignals
    ) external view returns (bool);
}
