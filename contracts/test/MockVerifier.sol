// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IGroth16Verifier} from "../interfaces/IGroth16Verifier.sol";
import {IBatchGroth16Verifier} from "../interfaces/IBatchGroth16Verifier.sol";

/// @title MockVerifier
/// @notice TEST ONLY. Stands in for the (batched) Groth16 verifier.
/// @dev The custodian calls `verifyProof` with STATICCALL (it is `view`), so the mock cannot record its
/// arguments in storage. Instead: `answer` is the result; with an expected input set, any other input
/// returns false; in probe mode it reverts with {VerifierCalled} carrying exactly the arguments it received.
contract MockVerifier is IBatchGroth16Verifier {
    bool public answer = true;
    bool public probe;
    bool public checkInput;
    uint256 public expectedInput;

    /// @notice Raised in probe mode with the exact arguments of the call.
    error VerifierCalled(uint256[2] pA, uint256[2][2] pB, uint256[2] pC, uint256[1] pubSignals);

    /// @notice Sets what `verifyProof` returns.
    function setAnswer(bool answer_) external {
        answer = answer_;
    }

    /// @notice In probe mode `verifyProof` reverts with {VerifierCalled}.
    function setProbe(bool probe_) external {
        probe = probe_;
    }

    /// @notice Makes `verifyProof` return false unless the public input is `input`.
    function expectInput(uint256 input) external {
        checkInput = true;
        expectedInput = input;
    }

    /// @notice Accepts any public input again.
    function clearExpectedInput() external {
        checkInput = false;
        expectedInput = 0;
    }

    /// @inheritdoc IGroth16Verifier
    function verifyProof(
        uint256[2] calldata _pA,
        uint256[2][2] calldata _pB,
        uint256[2] calldata _pC,
        uint256[1] calldata _pubSignals
    ) external view returns (bool) {
        if (probe) revert VerifierCalled(_pA, _pB, _pC, _pubSignals);
        if (checkInput && _pubSignals[0] != expectedInput) return false;
        return answer;
    }

    /// @inheritdoc IBatchGroth16Verifier
    /// @dev `answer` for a non-empty set of matching lengths (with an expected input set: every input must be it).
    function verifyProofs(uint256[8][] calldata proofs, uint256[] calldata inputs) external view returns (bool) {
        if (proofs.length == 0 || proofs.length != inputs.length) return false;
        if (checkInput) {
            for (uint256 i = 0; i < inputs.length; ++i) if (inputs[i] != expectedInput) return false;
        }
        return answer;
    }
}
