// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IBatchGroth16Verifier} from "./IBatchGroth16Verifier.sol";

/// @title IMarksRegistry
/// @notice The marks roots that marking proofs have vouched for (circuits/DERIVATIVES.md, "How the set's
/// Black-Scholes are paid for"; circuits/marking/marking.circom). A marking proof proves the Black-Scholes marks of a
/// set of options under one oracle update (`messageHash`, the Poseidon hash of the oracle's signed message) and
/// commits them in a quad tree (`marksRoot`). Anyone may {record} a pair with its proof; the custodian asks
/// {isRecorded} with one static call (it has no code room for a verifier of its own). Errors and events live here so
/// tools can decode them without the contract.
/// @dev A recorded pair says only that the marks under `marksRoot` are those of the update hashed to `messageHash`;
/// the update's signature and freshness are checked wherever a mark is read, beside the batch's own check of the same
/// message. Pairs are never removed: a mark is a function of the update and the option's terms, so it stays true.
interface IMarksRegistry {
    /// @notice A marking proof for (`messageHash`, `marksRoot`) was verified and the pair recorded; `recorder` sent it.
    event MarksRecorded(uint256 indexed messageHash, uint256 indexed marksRoot, address indexed recorder);

    /// @notice The constructor's verifier is the zero address or has no code.
    error InvalidVerifier(address verifier);
    /// @notice `value`, given as a public input, is not below the BN254 scalar field modulus: refused so that one
    /// field element has one encoding, and so one pair one record.
    error NotAFieldElement(uint256 value);
    /// @notice The proof does not verify for (messageHash, marksRoot).
    error InvalidMarkingProof();
    /// @notice The pair (`messageHash`, `marksRoot`) is already recorded: nothing to do (see {record}).
    error MarksAlreadyRecorded(uint256 messageHash, uint256 marksRoot);

    /// @notice Records (`messageHash`, `marksRoot`) once `proof` verifies for them; permissionless (the proof vouches
    /// for the pair). Emits {MarksRecorded}.
    /// @dev Refuses, recording nothing: an input >= the field modulus ({NotAFieldElement}), a pair already recorded
    /// ({MarksAlreadyRecorded}), and a proof the verifier refuses ({InvalidMarkingProof}). A second record of a pair
    /// is refused rather than accepted as a no-op: the duplicate check comes before the verifier, so a prover that
    /// lost a race spends what a no-op would cost (calldata and one storage read, no pairing), is told so by name
    /// (its simulation fails without sending anything), and every successful call is one recording with its
    /// event; a no-op would instead also accept any proof, valid or not, for a recorded pair.
    /// @param messageHash The oracle message's Poseidon hash: the marking proof's first public input.
    /// @param marksRoot The root of the marks tree: its second public input.
    /// @param proof The Groth16 proof as `[a0, a1, b00, b01, b10, b11, c0, c1]` (IBatchGroth16Verifier's order).
    function record(uint256 messageHash, uint256 marksRoot, uint256[8] calldata proof) external;

    /// @notice Whether a marking proof for (`messageHash`, `marksRoot`) has been recorded: one storage read.
    /// @param messageHash The oracle message's Poseidon hash.
    /// @param marksRoot A marks tree's root.
    /// @return True iff {record} accepted that pair.
    function isRecorded(uint256 messageHash, uint256 marksRoot) external view returns (bool);

    /// @notice The marking circuit's verifier: fixed at deployment, so the registry vouches for one circuit (one
    /// parameter set and marks-tree depth).
    /// @return The verifier every {record} is checked with.
    function verifier() external view returns (IBatchGroth16Verifier);
}
