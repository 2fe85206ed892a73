// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title AdminTimelock
/// @notice OpenZeppelin's TimelockController with its own configuration kept alive. The custodian gives it
/// TIMELOCK_ROLE: granting or revoking OPERATOR_ROLE, replacing the oracle key, the treasury's recipients and
/// insurance withdrawals are scheduled on it (CallScheduled announces them) and executable only after its minimum
/// delay, which the custodian requires to exceed its request deadline, so every user can leave (a forced withdrawal,
/// or exodus if it is ignored) before such a change lands.
/// @dev The timelock administers itself alone (DEFAULT_ADMIN_ROLE is its own and nobody else's), so every change of
/// its roles or its delay is itself a scheduled call, announced a full delay ahead. On top of OpenZeppelin's rules
/// (review of 2026-12-06: its sole proposer renouncing, an announced revoke or an unbounded delay froze governance for
/// good):
/// - PROPOSER_ROLE, EXECUTOR_ROLE and CANCELLER_ROLE always keep at least one holder, and DEFAULT_ADMIN_ROLE its one
///   holder, the timelock: removing the last one (renounceRole or revokeRole) reverts {LastRoleHolder}. Rotating
///   proposers or handing over to a multisig is one scheduled batch that grants the new holder first and then revokes
///   the old one.
/// - Those roles go only to accounts that can act on their own: DEFAULT_ADMIN_ROLE to nobody but the timelock (an
///   extra admin, the constructor's `admin` included, would change the roles without a delay), the three others
///   never to the timelock itself, and PROPOSER_ROLE and CANCELLER_ROLE never to address(0) (nobody sends from it;
///   EXECUTOR_ROLE for address(0) means anyone may execute, as in OpenZeppelin): {RoleHolderRefused}.
/// - The delay stays within [{minDelayFloor}, {MAX_DELAY}] ({TimelockDelayOutOfBounds}): never above MAX_DELAY, so a
///   scheduled call can always be executed (a huge delay overflowed or waited forever), and never below the
///   deployment's delay, which the custodian checked exceeds its request deadline (a lowered delay let a call
///   scheduled under it run as soon as a batch raised the delay back, past the custodian's check at each use).
contract AdminTimelock is TimelockController {
    /// @notice The longest minimum delay: 90 days, three times the custodian's longest request deadline
    /// (MAX_REQUEST_DEADLINE, 30 days), room for a delay of several deadlines. Any change, a recovery included,
    /// lands at most this long after it is scheduled.
    uint256 public constant MAX_DELAY = 90 days;

    /// @notice The shortest minimum delay: the delay at deployment (the custodian requires it above its request
    /// deadline). `updateDelay` may raise the delay up to {MAX_DELAY} and lower it back to this, never below.
    uint256 public immutable minDelayFloor;

    /// @dev How many accounts hold each role (OpenZeppelin's AccessControl does not count them).
    mapping(bytes32 role => uint256) private _holders;

    /// @notice A minimum delay above {MAX_DELAY} or below {minDelayFloor} (at deployment: above MAX_DELAY).
    error TimelockDelayOutOfBounds(uint256 delay, uint256 floor, uint256 max);
    /// @notice `account` is the last holder of `role` (PROPOSER_ROLE, EXECUTOR_ROLE, CANCELLER_ROLE or
    /// DEFAULT_ADMIN_ROLE): without it nobody could schedule, execute, cancel or change the roles, for good.
    error LastRoleHolder(bytes32 role, address account);
    /// @notice `role` cannot go to `account`: DEFAULT_ADMIN_ROLE to anyone but the timelock, PROPOSER_ROLE,
    /// EXECUTOR_ROLE or CANCELLER_ROLE to the timelock itself, PROPOSER_ROLE or CANCELLER_ROLE to address(0).
    error RoleHolderRefused(bytes32 role, address account);
    /// @notice The constructor was given no proposer or no executor: the timelock could never act.
    error NoRoleHolder(bytes32 role);

    /// @param minDelay Seconds between scheduling and executing an operation, at most {MAX_DELAY}; also the floor
    /// {minDelayFloor}. Must exceed the custodian's request deadline (scripts/deploy/deployExchange.ts uses
    /// requestDeadline + 1 day).
    /// @param proposers Accounts that may schedule (and cancel) operations; at least one, none of them address(0)
    /// or the timelock.
    /// @param executors Accounts that may execute ready operations (address(0): anyone); at least one.
    /// @param admin Must be address(0): the timelock administers itself alone (RoleHolderRefused otherwise).
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors, address admin)
        TimelockController(minDelay, proposers, executors, admin)
    {
        if (minDelay > MAX_DELAY) revert TimelockDelayOutOfBounds(minDelay, minDelay, MAX_DELAY);
        if (proposers.length == 0) revert NoRoleHolder(PROPOSER_ROLE);
        if (executors.length == 0) revert NoRoleHolder(EXECUTOR_ROLE);
        minDelayFloor = minDelay;
    }

    /// @notice How many accounts hold `role` (address(0) counted when it holds EXECUTOR_ROLE).
    function roleHolders(bytes32 role) external view returns (uint256) {
        return _holders[role];
    }

    /// @notice As {TimelockController-updateDelay} (only through a scheduled call on the timelock itself), within
    /// [{minDelayFloor}, {MAX_DELAY}]: TimelockDelayOutOfBounds otherwise.
    function updateDelay(uint256 newDelay) public override {
        super.updateDelay(newDelay);
        if (newDelay < minDelayFloor || newDelay > MAX_DELAY) {
            revert TimelockDelayOutOfBounds(newDelay, minDelayFloor, MAX_DELAY);
        }
    }

    /// @dev Every grant (the constructor's included) comes here: refuses the holders no call can come from, or that
    /// would skip the delay (RoleHolderRefused), and counts the new holder.
    function _grantRole(bytes32 role, address account) internal override returns (bool granted) {
        bool refused = role == DEFAULT_ADMIN_ROLE
            ? account != address(this)
            : _keptAlive(role) && (account == address(this) || (account == address(0) && role != EXECUTOR_ROLE));
        if (refused) revert RoleHolderRefused(role, account);
        granted = super._grantRole(role, account);
        if (granted) ++_holders[role];
    }

    /// @dev Every revoke and renounce comes here: refuses taking the last holder's PROPOSER_ROLE, EXECUTOR_ROLE,
    /// CANCELLER_ROLE or DEFAULT_ADMIN_ROLE (LastRoleHolder), and counts the holder out.
    function _revokeRole(bytes32 role, address account) internal override returns (bool revoked) {
        if ((role == DEFAULT_ADMIN_ROLE || _keptAlive(role)) && _holders[role] == 1 && hasRole(role, account)) {
            revert LastRoleHolder(role, account);
        }
        revoked = super._revokeRole(role, account);
        if (revoked) --_holders[role];
    }

    /// @dev The operating roles, which must always have a holder that can act on its own.
    function _keptAlive(bytes32 role) private pure returns (bool) {
        return role == PROPOSER_ROLE || role == EXECUTOR_ROLE || role == CANCELLER_ROLE;
    }
}
