// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IBatchGroth16Verifier} from "./interfaces/IBatchGroth16Verifier.sol";
import {IMarksRegistry} from "./interfaces/IMarksRegistry.sol";
import {BabyJubjub} from "./libraries/BabyJubjub.sol";

/// @title MarksRegistry
/// @notice Records the keys of the markings (oracle message hash, marks root) that marking proofs vouch for, checked
/// with the marking circuit's generated verifier (scripts/build/markingCircuit.ts); see {IMarksRegistry}.
contract MarksRegistry is IMarksRegistry {
    /// @notice The BN254 scalar field modulus: every public input is below it (Baby Jubjub's base field is this field).
    uint256 public constant FIELD_MODULUS = BabyJubjub.P;

    /// @inheritdoc IMarksRegistry
    IBatchGroth16Verifier public immutable verifier;

    /// @dev marksKey => recorded.
    mapping(uint256 marksKey => bool) private _recorded;

    /// @param verifier_ The marking circuit's verifier (a contract: the zero address or an account without code is
    /// refused with {InvalidVerifier}).
    constructor(IBatchGroth16Verifier verifier_) {
        if (address(verifier_).code.length == 0) revert InvalidVerifier(address(verifier_));
        verifier = verifier_;
    }

    /// @inheritdoc IMarksRegistry
    function record(uint256 messageHash, uint256 marksRoot, uint256 marksKey, uint256[8] calldata proof) external {
        if (messageHash >= FIELD_MODULUS) revert NotAFieldElement(messageHash);
        if (marksRoot >= FIELD_MODULUS) revert NotAFieldElement(marksRoot);
        if (marksKey >= FIELD_MODULUS) revert NotAFieldElement(marksKey);
        if (_recorded[marksKey]) revert MarksAlreadyRecorded(marksKey);
        uint256[] memory inputs = new uint256[](3);
        inputs[0] = messageHash;
        inputs[1] = marksRoot;
        inputs[2] = marksKey;
        // A check, not an interaction: verifyFlatProof is a view function (STATICCALL), so it cannot re-enter a write.
        if (!verifier.verifyFlatProof(proof, inputs)) revert InvalidMarkingProof();

        _recorded[marksKey] = true;
        emit MarksRecorded(marksKey, messageHash, marksRoot, msg.sender);
    }

    /// @inheritdoc IMarksRegistry
    function isRecorded(uint256 marksKey) external view returns (bool) {
        return _recorded[marksKey];
    }
}
