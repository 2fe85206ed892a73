// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title AdminTimelock
/// @notice OpenZeppelin's TimelockController, unchanged, compiled here so deployments have its artifact. The
/// custodian gives it TIMELOCK_ROLE: granting or revoking OPERATOR_ROLE and replacing the oracle key are scheduled
/// on it (CallScheduled announces them) and executable only after its minimum delay, which the custodian requires
/// to exceed its request deadline, so every user can leave (a forced withdrawal, or exodus if it is ignored) before
/// such a change lands.
/// @dev Deploy with `admin = address(0)`: the timelock then administers itself, and even changing its own delay
/// (updateDelay) or its proposers waits the current delay.
contract AdminTimelock is TimelockController {
    /// @param minDelay Seconds between scheduling and executing an operation; must exceed the custodian's
    /// request deadline (scripts/deploy/deployExchange.ts uses requestDeadline + 1 day).
    /// @param proposers Accounts that may schedule (and cancel) operations.
    /// @param executors Accounts that may execute ready operations (address(0): anyone).
    /// @param admin Optional extra admin of the timelock's roles; address(0) for none.
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors, address admin)
        TimelockController(minDelay, proposers, executors, admin)
    {}
}
