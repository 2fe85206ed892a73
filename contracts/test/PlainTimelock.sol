// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title PlainTimelock
/// @notice TEST ONLY: OpenZeppelin's TimelockController unchanged (no delay bounds, no kept roles), to test what the
/// custodian checks of a timelock that is not an AdminTimelock (its delay at each TIMELOCK_ROLE use).
contract PlainTimelock is TimelockController {
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors, address admin)
        TimelockController(minDelay, proposers, executors, admin)
    {}
}
