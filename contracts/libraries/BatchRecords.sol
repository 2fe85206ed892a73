// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Custodian} from "../Custodian.sol";
import {ProtocolConstants} from "../generated/ProtocolConstants.sol";
import {ICustodianExits} from "../interfaces/ICustodianExits.sol";
import {CustodianPayouts} from "./CustodianPayouts.sol";
import {PublicData} from "./PublicData.sol";

/// @title BatchRecords
/// @notice The custodian's check of a batch's records ({Custodian-submitBatch}, {Custodian-submitBatches}): each
/// slot's type is one its slot class holds, request records are the next queued requests in order, outcome
/// requests carry an outcome of 0 or 1, WITHDRAW records name an assigned account and a registered token. Reads
/// the custodian's queue and accounts, writes nothing; the errors are the custodian's.
/// @dev An external library, linked into Custodian at deployment, only to keep Custodian's runtime bytecode under
/// EIP-170 with room to spare once {Custodian-submitBatches} was added (as RegistrationRules and CustodianPayouts):
/// it runs by DELEGATECALL on the storage the custodian passes, at a few thousand gas per batch.
library BatchRecords {
    /// @notice What the check needs besides the queue and the accounts: the spot slot count, all slots, where the
    /// records start, the registered token count, the first request the batch may consume and the queue's length.
    struct RecordsContext {
        uint256 spot;
        uint256 n;
        uint256 offset;
        uint256 tokenCount;
        uint64 firstRequest;
        uint256 requestCount;
    }

    /// @dev The record types {checkRecords} looks into: requests and WITHDRAW.
    uint256 private constant _CHECKED_TYPES = PublicData.REQUEST_TYPES | (uint256(1) << ProtocolConstants.TX_WITHDRAW);

    /// @notice The oracle section's check: oracleUsed 0 (nothing to check here: the circuit forces the other fields to
    /// 0), or 1 with the key `registered` (the custodian's oracle key; OracleKeyNotSet while it has none,
    /// OracleKeyMismatch for another); any other byte is refused (BadOracleUsed). A linked library function, to keep
    /// the custodian under the code size limit.
    /// @return used Whether the batch uses the oracle.
    function checkOracle(bytes calldata publicData, uint256 registered) external pure returns (bool used) {
        (uint8 flag, uint256 key) = PublicData.decodeOracleKey(publicData);
        if (flag == 0) return false;
        if (flag != 1) revert Custodian.BadOracleUsed(flag);
        if (registered == 0) revert Custodian.OracleKeyNotSet();
        if (key != registered) revert Custodian.OracleKeyMismatch(registered, key);
        return true;
    }

    /// @notice Walks the records without writing anything. Returns the number of request records, of outcome requests
    /// (forced and treasury withdrawals) among them, and how many slots {Custodian-_applyRecords} must apply: none for a
    /// batch without requests or WITHDRAW records, all when an outcome request sits in a derivatives slot
    /// (FORCED_COLLATERAL_WITHDRAW, INSURANCE_WITHDRAW; derivatives slots hold nothing else to apply), else the
    /// spot slots; after checking they are exactly requests
    /// `firstRequest .. firstRequest + count - 1` of the queue ({checkQueueOrder}: the spot slots' requests and the
    /// derivatives slots' requests each in queue order, merged as the queue has them), outcome requests in their
    /// queued form (outcome byte cleared; it must be 0 or 1).
    function checkRecords(
        mapping(uint256 => bytes32) storage requestChain,
        mapping(uint32 => CustodianPayouts.Account) storage accounts,
        RecordsContext memory ctx,
        bytes calldata publicData
    ) external view returns (uint64 count, uint16 forced, uint256 applySlots) {
        uint256 typeAt = ctx.offset; // calldata offset of record 0's type byte
        assembly ("memory-safe") {
            typeAt := add(publicData.offset, typeAt)
        }
        // Only the records _scan stops at need a look: the common ones (NOOP, trades, cancels, ...) are skipped there.
        for (uint256 i = _scan(typeAt, 0, ctx.n, ctx.spot); i < ctx.n; i = _scan(typeAt, i + 1, ctx.n, ctx.spot)) {
            bytes calldata record = PublicData.recordAt(publicData, ctx.offset, i);
            uint8 txType = uint8(record[0]);
            if (i < ctx.spot ? !PublicData.isSpotType(txType) : !PublicData.isDerivativesType(txType)) {
                revert Custodian.UnknownTxType(i, txType);
            }
            if (PublicData.isRequest(txType)) {
                if (PublicData.isForced(txType)) {
                    uint8 outcome = uint8(record[PublicData.FORCED_OUTCOME_OFFSET]);
                    if (outcome > 1) revert ICustodianExits.BadForcedOutcome(i, outcome);
                    ++forced;
                    // An outcome request in a derivatives slot (collateral, insurance): apply those slots too.
                    if (i >= ctx.spot) applySlots = ctx.n;
                }
                if (applySlots == 0) applySlots = ctx.spot;
                ++count;
            } else if (txType == ProtocolConstants.TX_WITHDRAW) {
                _checkWithdraw(accounts, record, ctx.tokenCount);
                if (applySlots == 0) applySlots = ctx.spot;
            }
        }
        if (count != 0) {
            uint256 end = uint256(ctx.firstRequest) + count;
            if (end > ctx.requestCount || !_inQueueOrder(requestChain, ctx, publicData, end)) {
                revert Custodian.UnqueuedRequest(ctx.firstRequest, count);
            }
        }
    }

    /// @dev The first slot in `[from, n)` whose record {checkRecords} must look at: one of a type its slot class does
    /// not hold (slots below `spot` hold SPOT_TYPES, the others DERIVATIVES_TYPES) or of a type it checks
    /// (_CHECKED_TYPES); `n` when none. `typeAt` is the calldata offset of slot 0's type byte (records RECORD_BYTES
    /// apart; the custodian checked the length, and a byte past the end would read as NOOP). A batch of trades is
    /// walked in one call (npm run bench:gas-profile: checkRecords of 22 trades, the library call included, fell from
    /// 27,300 gas to 5,700).
    function _scan(uint256 typeAt, uint256 from, uint256 n, uint256 spot) private pure returns (uint256 i) {
        i = from < spot ? _scanClass(typeAt, from, spot, PublicData.SPOT_TYPES) : from;
        if (i >= spot) i = _scanClass(typeAt, i, n, PublicData.DERIVATIVES_TYPES);
    }

    /// @dev {_scan} within one slot class: the first slot in `[from, to)` whose type is not in `allowed` or is in
    /// _CHECKED_TYPES, else `to`.
    function _scanClass(uint256 typeAt, uint256 from, uint256 to, uint256 allowed) private pure returns (uint256 i) {
        (uint256 checked, uint256 recordBytes) = (_CHECKED_TYPES, ProtocolConstants.RECORD_BYTES);
        assembly ("memory-safe") {
            let at := add(typeAt, mul(from, recordBytes))
            // A type stops the walk when shr(t, halt) is odd: not allowed, or checked.
            let halt := or(not(allowed), checked)
            for { i := from } lt(i, to) { i := add(i, 1) } {
                if and(shr(byte(0, calldataload(at)), halt), 1) { break }
                at := add(at, recordBytes)
            }
        }
    }

    /// @dev Whether the batch's request records are requests `firstRequest .. end - 1` of the queue. A batch applies
    /// its spot slots before its derivatives slots, and the two classes hold disjoint request types, so the records
    /// are the queue's requests when the spot slots' requests and the derivatives slots' requests are each in queue
    /// order and some merge of the two is the queue. First the merge that keeps record order (spot, then
    /// derivatives: one chain read, the common case); otherwise the merge the queue's stored chain picks, one
    /// request at a time: while both classes have requests left, the next spot request is next exactly when
    /// chaining it gives the queue's chain at the next index (keccak256 is collision resistant), else the next
    /// derivatives request is. The final chain must be the queue's at `end` either way. So forced withdrawals
    /// (spot) and forced collateral withdrawals or closes (derivatives) queued alternately fill one batch's slots
    /// of both classes instead of one of each per batch.
    function _inQueueOrder(
        mapping(uint256 => bytes32) storage requestChain,
        RecordsContext memory ctx,
        bytes calldata publicData,
        uint256 end
    ) private view returns (bool) {
        bytes32 chain = requestChain[ctx.firstRequest];
        for (uint256 i = _nextRequest(publicData, ctx, 0, ctx.n); i < ctx.n; i = _nextRequest(publicData, ctx, i + 1, ctx.n)) {
            chain = _chainAt(chain, publicData, ctx, i);
        }
        bytes32 want = requestChain[end];
        return chain == want || _mergedChain(requestChain, ctx, publicData) == want;
    }

    /// @dev The request chain over the batch's requests merged as the queue's stored chain picks ({_inQueueOrder}).
    function _mergedChain(mapping(uint256 => bytes32) storage requestChain, RecordsContext memory ctx, bytes calldata publicData)
        private
        view
        returns (bytes32 chain)
    {
        uint256 index = ctx.firstRequest;
        chain = requestChain[index];
        uint256 s = _nextRequest(publicData, ctx, 0, ctx.spot);
        uint256 d = _nextRequest(publicData, ctx, ctx.spot, ctx.n);
        while (s < ctx.spot || d < ctx.n) {
            ++index;
            bytes32 viaSpot = s < ctx.spot ? _chainAt(chain, publicData, ctx, s) : bytes32(0);
            if (s < ctx.spot && (d == ctx.n || viaSpot == requestChain[index])) {
                chain = viaSpot;
                s = _nextRequest(publicData, ctx, s + 1, ctx.spot);
            } else {
                chain = _chainAt(chain, publicData, ctx, d);
                d = _nextRequest(publicData, ctx, d + 1, ctx.n);
            }
        }
    }

    /// @dev The request chain after slot `i`'s record.
    function _chainAt(bytes32 chain, bytes calldata publicData, RecordsContext memory ctx, uint256 i) private pure returns (bytes32) {
        return PublicData.chainNext(chain, PublicData.recordAt(publicData, ctx.offset, i));
    }

    /// @dev The first slot in `[from, to)` holding a request record, or `to`.
    function _nextRequest(bytes calldata publicData, RecordsContext memory ctx, uint256 from, uint256 to)
        private
        pure
        returns (uint256 i)
    {
        for (i = from; i < to; ++i) {
            if (PublicData.isRequest(uint8(PublicData.recordAt(publicData, ctx.offset, i)[0]))) return i;
        }
    }

    /// @dev A WITHDRAW record names an assigned account and a registered token.
    function _checkWithdraw(
        mapping(uint32 => CustodianPayouts.Account) storage accounts,
        bytes calldata record,
        uint256 tokenCount
    ) private view {
        (uint32 accountId, uint16 tokenId,) = PublicData.decodeWithdraw(record);
        if (accounts[accountId].owner == address(0)) revert Custodian.UnknownAccount(accountId);
        if (tokenId >= tokenCount) revert Custodian.UnknownToken(tokenId);
    }
}
