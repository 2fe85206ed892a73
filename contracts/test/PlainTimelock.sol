// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title PlainTimelock
/// @notice TEST ONLY: OpenZeppelin's TimelockController unchanged (no delay bounds, no kept roles, no floor view), which
/// the custodian refuses as its timelock.
contract PlainTimelock is TimelockController {
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors, address admin)
        TimelockController(minDelay, proposers, executors, admin)
    {}
}

/// @title LoweringTimelock
/// @notice TEST ONLY: a timelock that reports a floor (its deployment's delay) but, unlike AdminTimelock, can lower its
/// delay below it: what the custodian's check of the delay at each TIMELOCK_ROLE use still refuses, and the gap that
/// check alone leaves.
contract LoweringTimelock is TimelockController {
    uint256 public immutable minDelayFloor;

    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors, address admin)
        TimelockController(minDelay, proposers, executors, admin)
    {
        minDelayFloor = minDelay;
    }
}
