// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IBatchGroth16Verifier} from "./IBatchGroth16Verifier.sol";

/// @title IMarksRegistry
/// @notice The markings that marking proofs have vouched for (circuits/DERIVATIVES.md, "Marking proofs";
/// circuits/marking/marking.circom). A marking proof proves the Black-Scholes marks of a set of options under one
/// oracle update (`messageHash`, the Poseidon hash of the oracle's signed message), commits them in a quad tree
/// (`marksRoot`), and binds both in `marksKey = Poseidon(messageHash, marksRoot)`, its three public inputs. Anyone may
/// {record} a marking with its proof; the registry keeps its key, the one word a batch that reads these marks carries,
/// and the custodian will ask {isRecorded} with one static call (no Poseidon and no verifier of its own). Errors and
/// events live here so tools can decode them without the contract.
/// @dev A recorded key says only that the marks under `marksRoot` are those of the update hashed to `messageHash`;
/// the update's signature and freshness are checked wherever a mark is read, beside the batch's own check of the same
/// message. Keys are never removed: a mark is a function of the update and the option's terms, so it stays true.
interface IMarksRegistry {
    /// @notice A marking proof for (`messageHash`, `marksRoot`) was verified and its `marksKey` recorded; `recorder`
    /// sent it. The pair is in the event so a watcher can fetch the marks it names.
    event MarksRecorded(uint256 indexed marksKey, uint256 indexed messageHash, uint256 marksRoot, address indexed recorder);

    /// @notice The constructor's verifier is the zero address or has no code.
    error InvalidVerifier(address verifier);
    /// @notice `value`, given as a public input, is not below the BN254 scalar field modulus: refused so that one
    /// field element has one encoding, and so one marking one record.
    error NotAFieldElement(uint256 value);
    /// @notice The proof does not verify for (messageHash, marksRoot, marksKey).
    error InvalidMarkingProof();
    /// @notice `marksKey` is already recorded: nothing to do (see {record}).
    error MarksAlreadyRecorded(uint256 marksKey);

    /// @notice Records `marksKey` once `proof` verifies for (`messageHash`, `marksRoot`, `marksKey`); permissionless
    /// (the proof vouches for the marking, and for the key being Poseidon(messageHash, marksRoot)). Emits
    /// {MarksRecorded}.
    /// @dev Refuses, recording nothing: an input >= the field modulus ({NotAFieldElement}), a key already recorded
    /// ({MarksAlreadyRecorded}), and a proof the verifier refuses ({InvalidMarkingProof}). A second record of a key
    /// is refused rather than accepted as a no-op: the duplicate check comes before the verifier, so a prover that
    /// lost a race spends what a no-op would cost (calldata and one storage read, no pairing), is told so by name
    /// (its simulation fails without sending anything), and every successful call is one recording with its
    /// event; a no-op would instead also accept any proof, valid or not, for a recorded key.
    /// @param messageHash The oracle message's Poseidon hash: the marking proof's first public input.
    /// @param marksRoot The root of the marks tree: its second public input.
    /// @param marksKey Poseidon(messageHash, marksRoot): its third public input, the word recorded.
    /// @param proof The Groth16 proof as `[a0, a1, b00, b01, b10, b11, c0, c1]` (IBatchGroth16Verifier's order).
    function record(uint256 messageHash, uint256 marksRoot, uint256 marksKey, uint256[8] calldata proof) external;

    /// @notice Whether a marking proof with key `marksKey` has been recorded: one storage read.
    /// @param marksKey Poseidon(messageHash, marksRoot) of a marking.
    /// @return True iff {record} accepted a proof for that key.
    function isRecorded(uint256 marksKey) external view returns (bool);

    /// @notice The marking circuit's verifier: fixed at deployment, so the registry vouches for one circuit (one
    /// parameter set and marks-tree depth).
    /// @return The verifier every {record} is checked with.
    function verifier() external view returns (IBatchGroth16Verifier);
}
