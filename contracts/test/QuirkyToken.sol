// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Address} from "@openzeppelin/contracts/utils/Address.sol";

import {TestToken} from "./TestToken.sol";

/// @title QuirkyToken
/// @notice TEST ONLY. A mintable token whose transfers misbehave on demand: a fee burnt from each transfer
/// (fee-on-transfer), a bonus minted to each recipient (balance grows by more than the amount), and a hook that
/// calls an arbitrary target during each transfer (reentrancy).
contract QuirkyToken is TestToken {
    uint256 public feeBps;
    uint256 public bonus;
    address public hookTarget;
    bytes public hookData;

    constructor() TestToken("Quirky", "QRK", 18) {}

    /// @notice Burns `feeBps_ / 10000` of every transfer.
    function setFeeBps(uint256 feeBps_) external {
        feeBps = feeBps_;
    }

    /// @notice Mints `bonus_` extra to the recipient of every transfer.
    function setBonus(uint256 bonus_) external {
        bonus = bonus_;
    }

    /// @notice Calls `target` with `data` during every transfer, bubbling up a revert.
    function setHook(address target, bytes calldata data) external {
        hookTarget = target;
        hookData = data;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from == address(0) || to == address(0)) {
            super._update(from, to, value);
            return;
        }
        uint256 fee = value * feeBps / 10_000;
        super._update(from, to, value - fee);
        if (fee != 0) super._update(from, address(0), fee);
        if (bonus != 0) super._update(address(0), to, bonus);
        if (hookTarget != address(0)) {
            Address.functionCall(hookTarget, hookData);
        }
    }
}
