// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IMarksRegistry} from "./IMarksRegistry.sol";

/// @title ICustodianMarks
/// @notice The custodian's side of the option marks a batch reads (circuits/DERIVATIVES.md, "Reading marks in the
/// batch"): a batch whose oracle step read its option marks from a marking proof's tree carries that marking's key,
/// `marksKey = Poseidon(messageHash, marksRoot)`, in its oracle section (0 when it read no mark), and the custodian
/// accepts it only if its {marksRegistry} has recorded the key, that is, verified the marking proof. Errors live here
/// so tools can decode them without the whole custodian.
/// @dev The custodian asks the registry with one static call per batch whose key is not 0; a batch with key 0 costs
/// one calldata load. The registry is fixed at deployment: the marking circuit it verifies is part of what depositors
/// trust, like the batch verifier.
interface ICustodianMarks {
    /// @notice The batch carries marks key `marksKey` (not 0) and the custodian's {marksRegistry} has not recorded it
    /// (or the custodian has no registry): its marks are not vouched for by a verified marking proof.
    error MarksNotRecorded(uint256 marksKey);
    /// @notice The constructor's marks registry is neither the zero address (no registry) nor an account with code.
    error InvalidMarksRegistry(address registry);
    /// @notice A call or a put is registered on a custodian without a marks registry. No batch could ever read its mark
    /// (every non-zero marks key is refused), so the option could never be traded, and a batch whose oracle update
    /// priced it could never land: forced collateral withdrawals and closes, which need an update, would stall until
    /// exodus. Perpetuals and futures need no registry.
    error OptionsNeedMarksRegistry();

    /// @notice The registry of verified markings a batch's non-zero marks key must be recorded in; the zero address
    /// when the custodian has none, and then every batch with a non-zero key is refused ({MarksNotRecorded}).
    /// @return The registry fixed at deployment.
    function marksRegistry() external view returns (IMarksRegistry);
}
