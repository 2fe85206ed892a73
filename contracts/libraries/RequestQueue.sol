// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Custodian} from "../Custodian.sol";
import {ICustodianExits} from "../interfaces/ICustodianExits.sol";
import {ICustodianTreasury} from "../interfaces/ICustodianTreasury.sol";
import {CustodianPayouts} from "./CustodianPayouts.sol";
import {PublicData} from "./PublicData.sol";

/// @title The custodian's request queue and the waiting line of forced requests beyond its cap
/// @notice The queue is a keccak hash chain over the exact records batches must carry, each stamped with its time
/// and caller ({append}). Forced requests that find MAX_OPEN_FORCED_REQUESTS outcome requests open (or others
/// waiting already) wait in a first-come line ({join}); each batch that consumes outcome requests admits waiting
/// ones into the places it frees, oldest first, before anyone can queue anew ({admit}). So accounts that refill
/// the cap with requests refused at no cost cannot shut a user out of forced withdrawals. Nor can they make a user
/// wait longer than the deadline: a line entry keeps the time it joined until a batch consumes it ({release}), and
/// the custodian's exodus clock runs from the oldest such time ({oldestUnconsumed}), not from the admission. (Before, the
/// clock ran from the admission: an operator with enough accounts of its own kept a standing line ahead of a user
/// by serving each request just before its deadline, and delayed the user's forced request, and exodus, by a
/// deadline per 1,024 accounts ahead.)
/// The custodian's forced and treasury requests are queued here ({requestForced}, {requestTreasury}), and every
/// other request by the library function that builds it ({push}).
/// @dev Linked by the custodian, whose storage it is given; {append} and {push} are internal, compiled into the
/// libraries that queue requests (this one, {RegistrationRules}, {CustodianPayouts}): the custodian appends nothing
/// itself, which keeps its code under EIP-170.
library RequestQueue {
    /// @notice What a forced request reads as, queue index and pending request, while it waits in line ({Custodian-WAITING}).
    uint256 internal constant WAITING = type(uint48).max - 1;

    /// @notice A forced request of the line: the fields of its record, when it joined the line (its deadline runs
    /// from then), and its queue index + 1 once admitted (0 while it waits). One storage slot.
    struct Waiting {
        uint8 txType;
        uint32 accountId;
        uint16 tokenId;
        uint96 amount;
        uint64 joinedAt;
        uint40 queueIndexPlusOne;
    }

    /// @notice The line: positions [first, head) of `at` are admitted and not yet consumed by a batch, [head, tail)
    /// wait for a place. Join times grow with the position.
    struct Line {
        uint64 first;
        uint64 head;
        uint64 tail;
        mapping(uint256 position => Waiting request) at;
    }

    /// @notice Appends `record` at queue index `count` (the custodian's requestCount; {append}), which it returns;
    /// refused in exodus mode (`exodus`: ExodusModeActive). Every registration, deposit and treasury request is
    /// queued through here, by the library function that builds it; the custodian then counts it (requestCount + 1).
    function push(
        mapping(uint256 => bytes32) storage chain,
        mapping(uint256 => CustodianPayouts.QueuedRequest) storage queued,
        uint64 count,
        bool exodus,
        bytes memory record
    ) internal returns (uint256) {
        if (exodus) revert ICustodianExits.ExodusModeActive();
        append(chain, queued, count, record);
        return count;
    }

    /// @notice Appends `record` at queue index `count` (the queue's length), stamped with the time and the caller.
    function append(
        mapping(uint256 => bytes32) storage chain,
        mapping(uint256 => CustodianPayouts.QueuedRequest) storage queued,
        uint64 count,
        bytes memory record
    ) internal {
        chain[count + 1] = keccak256(abi.encodePacked(chain[count], record));
        queued[count] = CustodianPayouts.QueuedRequest({at: uint64(block.timestamp), by: msg.sender, refunded: false});
        emit ICustodianExits.RequestQueued(count, record);
    }

    /// @notice Queues a forced request of `txType` ({Custodian-forceWithdraw}, {Custodian-forceWithdrawCollateral},
    /// {Custodian-forceClose}: `tokenId` and `amount` as its record carries them) for the caller's account
    /// (`accountOf[msg.sender]`: NoAccount without one). Refused, in this order: amount 0 (ZeroForcedAmount), in
    /// exodus (`exodus`: ExodusModeActive), and while the account's latest request of its kind
    /// ({CustodianPayouts-forcedKey}; `forcedPlusOne[account][kind]` is its queue index + 1) is unconsumed
    /// (ForcedRequestPending: its index is `processed` or more, or it waits in line). With the cap `full` or others
    /// already waiting it joins the line ({join}) and returns {Custodian-WAITING}; otherwise it is appended at queue
    /// index `count`, which it returns (ForcedWithdrawalRequested): the custodian then counts it, one more request
    /// and one more open place.
    function requestForced(
        Line storage line,
        mapping(uint256 => bytes32) storage chain,
        mapping(uint256 => CustodianPayouts.QueuedRequest) storage queued,
        mapping(address => uint32) storage accountOf,
        mapping(uint32 => mapping(uint16 => uint48)) storage forcedPlusOne,
        uint8 txType,
        uint16 tokenId,
        uint96 amount,
        uint64 processed,
        uint64 count,
        bool exodus,
        bool full
    ) external returns (uint256 index) {
        uint32 accountId = accountOf[msg.sender];
        if (accountId == 0) revert Custodian.NoAccount(msg.sender);
        if (amount == 0) revert ICustodianExits.ZeroForcedAmount();
        if (exodus) revert ICustodianExits.ExodusModeActive();
        return _queueForced(
            line, chain, queued, forcedPlusOne[accountId], Waiting(txType, accountId, tokenId, amount, 0, 0), processed, count, full
        );
    }

    /// @dev {requestForced} once the account is known: `w` of the account whose latest request of each kind is
    /// `pending[kind]`.
    function _queueForced(
        Line storage line,
        mapping(uint256 => bytes32) storage chain,
        mapping(uint256 => CustodianPayouts.QueuedRequest) storage queued,
        mapping(uint16 => uint48) storage pending,
        Waiting memory w,
        uint64 processed,
        uint64 count,
        bool full
    ) private returns (uint256 index) {
        uint16 kind = CustodianPayouts.forcedKey(w.txType, w.tokenId);
        uint48 pendingPlusOne = pending[kind];
        if (pendingPlusOne > processed) revert ICustodianExits.ForcedRequestPending(w.accountId, pendingPlusOne - 1);
        if (full || line.head != line.tail) {
            // The queue's places are taken (or others wait already): wait in line; a batch admits it.
            join(line, w);
            index = WAITING;
        } else {
            index = count;
            append(chain, queued, count, PublicData.encodeAmountRecord(w.txType, w.accountId, w.tokenId, w.amount));
            emit ICustodianExits.ForcedWithdrawalRequested(w.accountId, w.txType, w.tokenId, w.amount, index);
        }
        pending[kind] = uint48(index + 1);
    }

    /// @notice Queues a treasury withdrawal ({Custodian-requestFeeWithdrawal}, {Custodian-requestInsuranceWithdrawal}):
    /// an outcome record of `txType` with accountId 0, tokenId 0, `amount` and honoured 0, at queue index `count`,
    /// which it returns. Refused, in this order: in exodus (`exodus`: ExodusModeActive; a request left pending then
    /// is never consumed), amount 0 (ZeroTreasuryWithdrawal), while the latest one of its type (queued at
    /// `pendingPlusOne - 1`) is unconsumed (at `processed` or later: TreasuryRequestPending), so the operator keeps
    /// at most two places of the cap and never crowds users out, and with the cap `full` (TooManyForcedRequests).
    /// The custodian then counts it, one more request and one more open place.
    function requestTreasury(
        mapping(uint256 => bytes32) storage chain,
        mapping(uint256 => CustodianPayouts.QueuedRequest) storage queued,
        uint64 count,
        uint64 processed,
        bool exodus,
        bool full,
        uint8 txType,
        uint64 pendingPlusOne,
        uint96 amount
    ) external returns (uint256) {
        if (exodus) revert ICustodianExits.ExodusModeActive();
        if (amount == 0) revert ICustodianTreasury.ZeroTreasuryWithdrawal();
        if (pendingPlusOne > processed) revert ICustodianTreasury.TreasuryRequestPending(txType, pendingPlusOne - 1);
        if (full) revert ICustodianExits.TooManyForcedRequests();
        return push(chain, queued, count, exodus, PublicData.encodeAmountRecord(txType, 0, 0, amount));
    }

    /// @notice Puts `w` at the end of the line, joined now; returns its position (ForcedWithdrawalWaiting).
    function join(Line storage line, Waiting memory w) public returns (uint256 position) {
        position = line.tail;
        w.joinedAt = uint64(block.timestamp);
        w.queueIndexPlusOne = 0;
        line.at[position] = w;
        line.tail = uint64(position + 1);
        emit ICustodianExits.ForcedWithdrawalWaiting(w.accountId, w.txType, w.tokenId, w.amount, position);
    }

    /// @notice After a batch consumed outcome requests up to queue index `processed`: drops the admitted entries it
    /// consumed ({release}), then queues up to `places` waiting requests, oldest first, from queue index `count` on,
    /// each as a forced request of its own (it becomes its account's pending one of its kind, {CustodianPayouts-forcedKey}:
    /// ForcedWithdrawalRequested), stamped
    /// with the time it joined the line, not the admission's: its deadline runs from its call. Each stays in the line,
    /// admitted, until a batch consumes it, so the exodus clock sees its join time even behind younger requests.
    /// Returns the queue's new length and how many were admitted.
    function admit(
        Line storage line,
        mapping(uint256 => bytes32) storage chain,
        mapping(uint256 => CustodianPayouts.QueuedRequest) storage queued,
        mapping(uint32 => mapping(uint16 => uint48)) storage forcedPlusOne,
        uint64 processed,
        uint64 count,
        uint256 places
    ) external returns (uint64, uint256 admitted) {
        release(line, processed);
        uint64 head = line.head;
        uint64 tail = line.tail;
        while (head != tail && admitted < places) {
            Waiting storage entry = line.at[head];
            Waiting memory w = entry;
            entry.queueIndexPlusOne = uint40(count + 1);
            ++head;
            append(chain, queued, count, PublicData.encodeAmountRecord(w.txType, w.accountId, w.tokenId, w.amount));
            queued[count].at = w.joinedAt; // its deadline runs from its call
            forcedPlusOne[w.accountId][CustodianPayouts.forcedKey(w.txType, w.tokenId)] = uint48(count + 1);
            emit ICustodianExits.ForcedWithdrawalRequested(w.accountId, w.txType, w.tokenId, w.amount, count);
            ++count;
            ++admitted;
        }
        line.head = head;
        return (count, admitted);
    }

    /// @notice Drops the admitted entries a batch has consumed (queue index below `processed`), oldest first.
    function release(Line storage line, uint64 processed) private {
        uint64 first = line.first;
        uint64 head = line.head;
        while (first != head && line.at[first].queueIndexPlusOne <= processed) {
            delete line.at[first];
            ++first;
        }
        line.first = first;
    }

    /// @notice When the oldest request not yet consumed was asked for: the queue's first unconsumed one (`next`, of
    /// `count` queued) or the oldest entry of the line not yet consumed (admitted or waiting), whichever joined
    /// first; type(uint256).max when none. {Custodian-exodusAvailableAt} adds the deadline.
    function oldestUnconsumed(
        Line storage line,
        mapping(uint256 => CustodianPayouts.QueuedRequest) storage queued,
        uint64 next,
        uint64 count
    ) external view returns (uint256 since) {
        since = next < count ? queued[next].at : type(uint256).max;
        uint64 first = line.first;
        if (first != line.tail) {
            uint256 joined = line.at[first].joinedAt;
            if (joined < since) since = joined;
        }
    }
}
