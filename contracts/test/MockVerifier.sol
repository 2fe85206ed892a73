// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IBatchGroth16Verifier} from "../interfaces/IBatchGroth16Verifier.sol";

/// @title MockVerifier
/// @notice TEST ONLY. Stands in for the generated Groth16 verifier of the batch circuit and of the exit circuit
/// ({verifyFlatProof}, {verifyProofs}).
/// @dev The custodian calls the verifier with STATICCALL (`view`), so the mock cannot record its arguments in
/// storage. Instead: `answer` is the result; with expected inputs set, any other inputs return false; in probe mode
/// it reverts with {BatchVerifierCalled} carrying exactly the arguments it received.
contract MockVerifier is IBatchGroth16Verifier {
    bool public answer = true;
    bool public probe;
    /// @notice keccak256(abi.encode(inputs)) of the public inputs every proof given to {verifyProofs} must carry.
    bytes32 public expectedInputsHash;
    /// @notice How many public inputs each proof given to {verifyProofs} carries (0: not checked).
    uint256 public inputsPerProof;

    /// @notice Raised in probe mode by {verifyProofs} and {verifyFlatProof} with the exact arguments of the call.
    error BatchVerifierCalled(uint256[8][] proofs, uint256[] inputs);

    /// @notice Sets what the verifier returns.
    function setAnswer(bool answer_) external {
        answer = answer_;
    }

    /// @notice In probe mode both verifying functions revert with the arguments they received.
    function setProbe(bool probe_) external {
        probe = probe_;
    }

    /// @notice Makes {verifyProofs} return false unless every proof's inputs are exactly `inputs`.
    function expectInputs(uint256[] calldata inputs) external {
        expectedInputsHash = keccak256(abi.encode(inputs));
        inputsPerProof = inputs.length;
    }

    /// @notice Accepts any public input again.
    function clearExpectedInput() external {
        expectedInputsHash = bytes32(0);
        inputsPerProof = 0;
    }

    /// @inheritdoc IBatchGroth16Verifier
    /// @dev As {verifyProofs} of one proof; in probe mode it reverts with {BatchVerifierCalled} of `[proof]`.
    function verifyFlatProof(uint256[8] calldata proof, uint256[] calldata inputs) external view returns (bool) {
        uint256[8][] memory proofs = new uint256[8][](1);
        proofs[0] = proof;
        return _verifyProofs(proofs, inputs);
    }

    /// @inheritdoc IBatchGroth16Verifier
    /// @dev `answer` for a non-empty set whose inputs split evenly over the proofs (with expected inputs set: each
    /// proof's share must be them).
    function verifyProofs(uint256[8][] calldata proofs, uint256[] calldata inputs) external view returns (bool) {
        return _verifyProofs(proofs, inputs);
    }

    /// @dev The mock's answer for proofs and their inputs (see {verifyProofs}).
    function _verifyProofs(uint256[8][] memory proofs, uint256[] calldata inputs) private view returns (bool) {
        if (probe) revert BatchVerifierCalled(proofs, inputs);
        uint256 k = proofs.length;
        if (k == 0 || inputs.length % k != 0) return false;
        if (inputsPerProof != 0) {
            uint256 n = inputs.length / k;
            if (n != inputsPerProof) return false;
            for (uint256 i = 0; i < k; ++i) {
                if (keccak256(abi.encode(inputs[i * n:(i + 1) * n])) != expectedInputsHash) return false;
            }
        }
        return answer;
    }
}
