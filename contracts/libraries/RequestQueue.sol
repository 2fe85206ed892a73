// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ICustodianExits} from "../interfaces/ICustodianExits.sol";
import {CustodianPayouts} from "./CustodianPayouts.sol";
import {PublicData} from "./PublicData.sol";

/// @title The custodian's request queue and the waiting line of forced requests beyond its cap
/// @notice The queue is a keccak hash chain over the exact records batches must carry, each stamped with its time
/// and caller ({append}). Forced requests that find MAX_OPEN_FORCED_REQUESTS outcome requests open (or others
/// waiting already) wait in a first-come line ({join}); each batch that consumes outcome requests admits waiting
/// ones into the places it frees, oldest first, before anyone can queue anew ({admit}). So accounts that refill
/// the cap with requests refused at no cost cannot shut a user out of forced withdrawals.
/// @dev Linked by the custodian, whose storage it is given; {append} is internal (compiled into each caller).
library RequestQueue {
    /// @notice A forced request waiting for a place: the fields of its record.
    struct Waiting {
        uint8 txType;
        uint32 accountId;
        uint16 tokenId;
        uint96 amount;
    }

    /// @notice The waiting line: positions [head, tail) of `at`.
    struct Line {
        uint64 head;
        uint64 tail;
        mapping(uint256 position => Waiting request) at;
    }

    /// @notice Request `index` was queued with its exact record (the custodian's queue, in its context).
    event RequestQueued(uint256 indexed index, bytes record);

    /// @notice Appends `record` at queue index `count` (the queue's length), stamped with the time and the caller.
    function append(
        mapping(uint256 => bytes32) storage chain,
        mapping(uint256 => CustodianPayouts.QueuedRequest) storage queued,
        uint64 count,
        bytes memory record
    ) internal {
        chain[count + 1] = keccak256(abi.encodePacked(chain[count], record));
        queued[count] = CustodianPayouts.QueuedRequest({at: uint64(block.timestamp), by: msg.sender, refunded: false});
        emit RequestQueued(count, record);
    }

    /// @notice Puts `w` at the end of the line; returns its position (ForcedWithdrawalWaiting).
    function join(Line storage line, Waiting memory w) external returns (uint256 position) {
        position = line.tail;
        line.at[position] = w;
        line.tail = uint64(position + 1);
        emit ICustodianExits.ForcedWithdrawalWaiting(w.accountId, w.txType, w.tokenId, w.amount, position);
    }

    /// @notice Queues up to `places` waiting requests, oldest first, from queue index `count` on, each as a forced
    /// request of its own (its deadline runs from now; it becomes its account's pending one:
    /// ForcedWithdrawalRequested). Returns the queue's new length and how many were admitted.
    function admit(
        Line storage line,
        mapping(uint256 => bytes32) storage chain,
        mapping(uint256 => CustodianPayouts.QueuedRequest) storage queued,
        mapping(uint32 => CustodianPayouts.Account) storage accounts,
        uint64 count,
        uint256 places
    ) external returns (uint64, uint256 admitted) {
        uint64 head = line.head;
        uint64 tail = line.tail;
        while (head != tail && admitted < places) {
            Waiting memory w = line.at[head];
            delete line.at[head];
            ++head;
            append(chain, queued, count, PublicData.encodeAmountRecord(w.txType, w.accountId, w.tokenId, w.amount));
            accounts[w.accountId].forcedRequestPlusOne = uint48(count + 1);
            emit ICustodianExits.ForcedWithdrawalRequested(w.accountId, w.txType, w.tokenId, w.amount, count);
            ++count;
            ++admitted;
        }
        line.head = head;
        return (count, admitted);
    }
}
