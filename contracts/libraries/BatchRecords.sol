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

    /// @notice Walks the records without writing anything. Returns the number of request records, of outcome requests
    /// (forced and treasury withdrawals) among them, and how many slots {Custodian-_applyRecords} must apply: none for a
    /// batch without requests or WITHDRAW records, all when an outcome request sits in a derivatives slot
    /// (FORCED_COLLATERAL_WITHDRAW, INSURANCE_WITHDRAW; derivatives slots hold nothing else to apply), else the
    /// spot slots; after checking they are exactly requests
    /// `firstRequest .. firstRequest + count - 1` of the queue, in record order (spot records, then derivatives
    /// records), outcome requests in their queued form (outcome byte cleared; it must be 0 or 1).
    function checkRecords(
        mapping(uint256 => bytes32) storage requestChain,
        mapping(uint32 => CustodianPayouts.Account) storage accounts,
        RecordsContext memory ctx,
        bytes calldata publicData
    ) external view returns (uint64 count, uint16 forced, uint256 applySlots) {
        bytes32 chain;
        for (uint256 i = 0; i < ctx.n; ++i) {
            bytes calldata record = PublicData.recordAt(publicData, ctx.offset, i);
            uint8 txType = uint8(record[0]);
            if (txType == ProtocolConstants.TX_NOOP) continue; // both slot classes hold it; the common case
            if (i < ctx.spot ? !PublicData.isSpotType(txType) : !PublicData.isDerivativesType(txType)) {
                revert Custodian.UnknownTxType(i, txType);
            }
            if (PublicData.isRequest(txType)) {
                if (count == 0) chain = requestChain[ctx.firstRequest];
                if (PublicData.isForced(txType)) {
                    uint8 outcome = uint8(record[PublicData.FORCED_OUTCOME_OFFSET]);
                    if (outcome > 1) revert ICustodianExits.BadForcedOutcome(i, outcome);
                    ++forced;
                    // An outcome request in a derivatives slot (collateral, insurance): apply those slots too.
                    if (i >= ctx.spot) applySlots = ctx.n;
                }
                if (applySlots == 0) applySlots = ctx.spot;
                chain = PublicData.chainNext(chain, record);
                ++count;
            } else if (txType == ProtocolConstants.TX_WITHDRAW) {
                _checkWithdraw(accounts, record, ctx.tokenCount);
                if (applySlots == 0) applySlots = ctx.spot;
            }
        }
        if (count != 0) {
            uint256 end = uint256(ctx.firstRequest) + count;
            if (end > ctx.requestCount || chain != requestChain[end]) {
                revert Custodian.UnqueuedRequest(ctx.firstRequest, count);
            }
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
