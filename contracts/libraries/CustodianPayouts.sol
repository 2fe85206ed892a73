// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {IBatchGroth16Verifier} from "../interfaces/IBatchGroth16Verifier.sol";
import {Custodian} from "../Custodian.sol";
import {ICustodianExits} from "../interfaces/ICustodianExits.sol";
import {ICustodianTreasury} from "../interfaces/ICustodianTreasury.sol";
import {ProtocolConstants} from "../generated/ProtocolConstants.sol";
import {PublicData} from "./PublicData.sol";
import {RequestQueue} from "./RequestQueue.sol";

/// @title CustodianPayouts
/// @notice Everything that credits or pays out of the custodian's ledger: an accepted batch's withdrawal credits
/// ({applyRecords}: WITHDRAW records, honoured forced withdrawals, honoured treasury withdrawals, consumed
/// deposits), the exodus refund of a deposit no batch consumed ({refundDeposit}) and an account's exit claim
/// against the frozen root ({exit}); and what pays in: a deposit, pulled and queued ({deposit}). Custodian's functions ({Custodian-submitBatch}, {Custodian-refundDeposit},
/// {Custodian-exit}) check who may call and when, and what a batch may carry, and delegate the rest here; the
/// rules are documented there.
/// @dev An external library, linked into Custodian at deployment, moves this code out of Custodian's runtime
/// bytecode (EIP-170: 24,576 bytes at most). Chosen over a separate contract because every payout writes the
/// custodian's own ledger ({Custodian-owed}, {Custodian-withdrawable}, the queued requests' refunded flags) and
/// the exodus ones move the custodian's own tokens: an external library function runs by DELEGATECALL in the
/// custodian's context on exactly the storage references the custodian passes it, so no second address holds
/// funds or needs a permission to write the custodian's ledger, nothing depends on two contracts agreeing on a
/// storage layout by convention (as a delegatecalled module would), and events, token transfers and reverts
/// (the custodian's errors) are the custodian's. The library holds no state and has no entry point of its own:
/// the compiler's call guard makes its state-changing functions revert unless reached by DELEGATECALL, and it
/// acts only on what its caller passes. The cost is a link step at deployment (scripts/deploy/deployExchange.ts
/// deploys and links it; the tests through test/contracts/helpers.ts deployCustodianContract) and the call's
/// overhead: about 4 to 5k gas on a batch with anything to credit (plus a few hundred per WITHDRAW record; a batch
/// with no request and no WITHDRAW skips the call and the whole second pass), about 3.5k on a refund, 6k on an
/// exit. The exodus payouts alone did not free enough room for the treasury's withdrawals; the batch credits are
/// the other cohesive block that writes the same ledger.
library CustodianPayouts {
    using SafeERC20 for IERC20;

    /// @notice An assigned account: its owner and `1 +` the queue index of its latest REGISTER_KEY request (one
    /// storage slot, read by every registration, forced request and WITHDRAW record). Its forced requests are kept
    /// apart, one per kind ({forcedKey}).
    struct Account {
        address owner;
        uint48 keyRequestPlusOne;
    }

    /// @notice The kind of forced request an account has at most one of unconsumed: every forced withdrawal (spot or
    /// collateral) shares one, and each instrument id its own forced close (so closing several positions without the
    /// operator takes one request deadline, not one per position).
    function forcedKey(uint8 txType, uint16 tokenId) internal pure returns (uint16) {
        return txType == ProtocolConstants.TX_FORCED_CLOSE ? tokenId : type(uint16).max;
    }

    /// @notice What an accepted batch's records are applied with: where its records start, how many slots to
    /// apply (spot slots, and the derivatives slots when an outcome request sits in one), and its number.
    struct BatchContext {
        uint256 recordsOffset;
        uint256 slots;
        uint32 batchNumber;
    }

    /// @notice A registered token and the smallest amount a deposit of it may bring (one storage slot).
    struct TokenInfo {
        IERC20 token;
        uint96 minDeposit;
    }

    /// @notice When a request was queued and by whom (the depositor of a deposit), and whether a deposit was
    /// refunded in exodus (one storage slot per request).
    struct QueuedRequest {
        uint64 at;
        address by;
        bool refunded;
    }

    /// @notice An exit claim's context: the state root every exit is proven against (frozen when exodus began),
    /// the exit circuit's verifier, the number of token ids an exit claims and of underlyings the oracle prices,
    /// the exiting account, and the claim's pooled quote and derivatives claim (as sent; the proof binds them to
    /// the root).
    struct ExitContext {
        uint256 root;
        IBatchGroth16Verifier exitVerifier;
        uint256 maxTokens;
        uint256 underlyings;
        uint32 accountId;
        uint256 pooledQuote;
        uint256 derivativesClaim;
    }

    /// @notice The derivatives pot in exodus ({Custodian-exit}, {Custodian-claimDerivatives}): `derivativesPaid`, the
    /// quote token credited for derivatives claims so far ({Custodian-exodusDerivativesPaid}), never above `pot`;
    /// `windowClaims`, the claims exits recorded within the claim window, each waiting in `pending` until the
    /// window ends at `windowEnd` (set when exodus began); `latePaid`, what exits after the window were due of
    /// what the window's claims left (paid, or waiting in `pending` where token 0 read short: {_payExit});
    /// `pot`, the frozen state's pooled quote, as the exits' proofs bind it;
    /// `remainders`, what each exit's spot claim of a token was not paid at the exit ({_pay}: the custodian read less
    /// of it free than claimed, a `balanceOf` that failed reading as 0), waiting for {claimExitRemainder}. A
    /// remainder is not in {Custodian-owed} until it is paid: nothing credits it before the custodian holds it free.
    struct ExodusLedger {
        uint256 derivativesPaid;
        uint256 windowClaims;
        uint256 latePaid;
        uint256 pot;
        uint256 windowEnd;
        mapping(uint32 accountId => uint256 claim) pending;
        mapping(uint32 accountId => mapping(uint16 tokenId => uint256 amount)) remainders;
    }

    /// @notice Applies an accepted batch's records, after every check of {Custodian-submitBatch} passed: credits
    /// the WITHDRAW records and the honoured forced withdrawals to the accounts' owners (a refused one emits
    /// ForcedWithdrawalRefused; a FORCED_CLOSE pays nothing either way, it moves positions in the rollup: ForcedCloseProven), the honoured treasury records to the fee or insurance recipient in token 0 (a
    /// refused one emits TreasuryWithdrawalRefused), and takes the consumed DEPOSIT records off `owed` (their
    /// amounts are in the state now). Every record here is one the custodian accepted, so the types sit in their
    /// slot classes and outcome requests come from the queue (a treasury record's accountId and tokenId are the
    /// queued 0).
    function applyRecords(
        mapping(address => mapping(uint16 => uint256)) storage withdrawable,
        mapping(uint16 => uint256) storage owed,
        mapping(uint32 => Account) storage accounts,
        mapping(uint8 => address) storage treasuryRecipients,
        BatchContext memory ctx,
        bytes calldata publicData
    ) external {
        for (uint256 i = 0; i < ctx.slots; ++i) {
            bytes calldata record = PublicData.recordAt(publicData, ctx.recordsOffset, i);
            uint8 txType = uint8(record[0]);
            if (txType == ProtocolConstants.TX_NOOP) continue; // the common case
            if (txType == ProtocolConstants.TX_FORCED_CLOSE) {
                _reportForcedClose(ctx.batchNumber, record); // it moves positions in the rollup only: nothing to pay
                continue;
            }
            bool forced = PublicData.isForced(txType);
            if (!forced && txType != ProtocolConstants.TX_WITHDRAW && txType != ProtocolConstants.TX_DEPOSIT) continue;
            (uint32 accountId, uint16 tokenId, uint96 amount) = PublicData.decodeWithdraw(record);
            if (txType == ProtocolConstants.TX_DEPOSIT) {
                owed[tokenId] -= amount;
            } else if (PublicData.isTreasury(txType)) {
                _applyTreasury(withdrawable, owed, treasuryRecipients, ctx.batchNumber, txType, amount, record[PublicData.FORCED_OUTCOME_OFFSET] == 0);
            } else if (forced && record[PublicData.FORCED_OUTCOME_OFFSET] == 0) {
                emit ICustodianExits.ForcedWithdrawalRefused(ctx.batchNumber, accountId, tokenId, amount);
            } else if (amount != 0) {
                _creditOwner(withdrawable, owed, accounts[accountId].owner, ctx.batchNumber, accountId, tokenId, amount);
            }
        }
    }

    /// @dev Emits ForcedCloseProven for a FORCED_CLOSE record: accountId(4) instrumentId(2) counterpartyId(4) lots(8)
    /// honoured(1) after the type byte (sequencer/protocol/publicData.ts RECORD_LAYOUT).
    function _reportForcedClose(uint32 batchNumber, bytes calldata record) private {
        emit ICustodianExits.ForcedCloseProven(
            batchNumber, uint32(bytes4(record[1:5])), uint16(bytes2(record[5:7])), uint32(bytes4(record[7:11])),
            uint64(bytes8(record[11:19])), record[PublicData.FORCED_OUTCOME_OFFSET] != 0
        );
    }

    /// @dev An honoured WITHDRAW or forced withdrawal: `amount` of `tokenId` credited to the account's owner.
    function _creditOwner(
        mapping(address => mapping(uint16 => uint256)) storage withdrawable,
        mapping(uint16 => uint256) storage owed,
        address owner,
        uint32 batchNumber,
        uint32 accountId,
        uint16 tokenId,
        uint96 amount
    ) private {
        _credit(withdrawable[owner], owed, tokenId, amount);
        emit Custodian.WithdrawalCredited(batchNumber, accountId, owner, tokenId, amount);
    }

    /// @dev A proven treasury withdrawal: honoured, `amount` of token 0 credited to the recipient of its type
    /// (`treasuryRecipients[txType]`: the fee recipient for FEE_WITHDRAW, the insurance recipient for
    /// INSURANCE_WITHDRAW); refused, nothing.
    function _applyTreasury(
        mapping(address => mapping(uint16 => uint256)) storage withdrawable,
        mapping(uint16 => uint256) storage owed,
        mapping(uint8 => address) storage treasuryRecipients,
        uint32 batchNumber,
        uint8 txType,
        uint96 amount,
        bool refused
    ) private {
        if (refused) {
            emit ICustodianTreasury.TreasuryWithdrawalRefused(batchNumber, txType, amount);
            return;
        }
        address recipient = treasuryRecipients[txType];
        _credit(withdrawable[recipient], owed, uint16(ProtocolConstants.QUOTE_TOKEN_ID), amount);
        emit ICustodianTreasury.TreasuryWithdrawalCredited(batchNumber, txType, recipient, amount);
    }

    /// @notice Refunds queued deposit `index` (accountId, tokenId, amount as the request chain committed it) to the
    /// address that made it, once, by crediting its {Custodian-withdrawable}; see {Custodian-refundDeposit}. The
    /// caller checked exodus mode. Nothing is transferred here: {Custodian-owed} already counts the queued deposit
    /// and now counts the credit instead, which the depositor pulls like any other (to any address, {Custodian-withdrawTo}).
    /// @param firstUnconsumed The custodian's processedRequests: lower indices were consumed by batches.
    /// @param queueLength The custodian's requestCount.
    function refundDeposit(
        mapping(uint256 => bytes32) storage requestChain,
        mapping(uint256 => QueuedRequest) storage queued,
        mapping(address => mapping(uint16 => uint256)) storage withdrawable,
        uint256 firstUnconsumed,
        uint256 queueLength,
        uint256 index,
        uint32 accountId,
        uint16 tokenId,
        uint96 amount
    ) external {
        if (index < firstUnconsumed || index >= queueLength) revert ICustodianExits.NotRefundable(index);
        // Only a DEPOSIT record hashes to the committed link: any other request (a registration, a forced or a
        // treasury withdrawal) at `index` is refused here.
        bytes32 chain =
            keccak256(abi.encodePacked(requestChain[index], PublicData.encodeDeposit(accountId, tokenId, amount)));
        if (chain != requestChain[index + 1]) revert ICustodianExits.RequestMismatch(index);
        QueuedRequest storage q = queued[index];
        if (q.refunded) revert ICustodianExits.AlreadyRefunded(index);
        q.refunded = true;
        address depositor = q.by;
        withdrawable[depositor][tokenId] += amount;
        emit ICustodianExits.DepositRefunded(index, accountId, depositor, tokenId, amount);
    }

    /// @notice Registers `token` under the next token id with its minimum deposit; see {Custodian-registerToken}.
    /// Refused: a registered token (TokenAlreadyRegistered), minimum 0 (ZeroMinDeposit), every id taken
    /// (TokenLimitReached). Emits {Custodian-TokenRegistered}. Here with the deposits and payouts that read the list.
    /// @param tokens The custodian's token list, appended to.
    /// @param idPlusOne The custodian's token ids by address, plus one (0: not registered).
    /// @param maxTokens The custodian's token id count.
    /// @return tokenId The new token id.
    function addToken(
        TokenInfo[] storage tokens,
        mapping(IERC20 => uint256) storage idPlusOne,
        uint256 maxTokens,
        IERC20 token,
        uint96 minDeposit
    ) external returns (uint16 tokenId) {
        if (idPlusOne[token] != 0) revert Custodian.TokenAlreadyRegistered(token);
        if (minDeposit == 0) revert Custodian.ZeroMinDeposit();
        uint256 count = tokens.length;
        if (count >= maxTokens) revert Custodian.TokenLimitReached();
        tokenId = uint16(count);
        tokens.push(TokenInfo({token: token, minDeposit: minDeposit}));
        idPlusOne[token] = count + 1;
        emit Custodian.TokenRegistered(tokenId, token, minDeposit);
    }

    /// @notice A deposit of `amount` of token `tokenId` from the caller to account `accountId` (the custodian checked
    /// the account; see {Custodian-deposit}, {Custodian-depositTo}): pulls it ({_receiveDeposit}), queues a DEPOSIT
    /// record of what arrived at queue index `count` ({RequestQueue-push}: ExodusModeActive in exodus), which it
    /// returns, and counts it in {Custodian-owed} until a batch consumes it. Emits {Custodian-Deposited}. The
    /// interaction comes first, so the queued amount is what arrived: the caller holds the reentrancy guard.
    /// @param tokens The custodian's registered tokens.
    /// @param owed The custodian's {Custodian-owed}, grown by what arrived.
    /// @param chain The custodian's request chain, appended to.
    /// @param queued The custodian's queued requests' times and callers.
    /// @param count The custodian's requestCount: the index the deposit gets.
    /// @param exodus The custodian's exodusMode.
    /// @return index The deposit's queue index.
    function deposit(
        TokenInfo[] storage tokens,
        mapping(uint16 => uint256) storage owed,
        mapping(uint256 => bytes32) storage chain,
        mapping(uint256 => QueuedRequest) storage queued,
        uint64 count,
        bool exodus,
        uint32 accountId,
        uint16 tokenId,
        uint96 amount
    ) external returns (uint256 index) {
        uint96 received = _receiveDeposit(tokens, tokenId, amount);
        index = RequestQueue.push(chain, queued, count, exodus, PublicData.encodeDeposit(accountId, tokenId, received));
        owed[tokenId] += received;
        emit Custodian.Deposited(accountId, tokenId, msg.sender, received, index);
    }

    /// @dev Pulls a deposit of `amount` of token `tokenId` from the caller and returns what arrived, which is what
    /// the custodian queues (fee-on-transfer and bonus tokens included). Reverts for an
    /// unknown token (UnknownToken) or amount 0 (InvalidDepositAmount), and when what arrived is
    /// below the token's minimum (DepositBelowMinimum), does not fit 96 bits (InvalidDepositAmount), or would leave
    /// the custodian holding 2^128 or more of the token (TokenHoldingsLimit).
    function _receiveDeposit(TokenInfo[] storage tokens, uint16 tokenId, uint96 amount) private returns (uint96) {
        if (tokenId >= tokens.length) revert Custodian.UnknownToken(tokenId);
        if (amount == 0) revert Custodian.InvalidDepositAmount(0);
        TokenInfo memory info = tokens[tokenId];
        IERC20 token = info.token;
        uint256 balanceBefore = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 balanceAfter = token.balanceOf(address(this));
        uint256 received = balanceAfter > balanceBefore ? balanceAfter - balanceBefore : 0;
        if (received < info.minDeposit) revert Custodian.DepositBelowMinimum(tokenId, received, info.minDeposit);
        if (received > type(uint96).max) revert Custodian.InvalidDepositAmount(received);
        if (balanceAfter >= 1 << ProtocolConstants.BITS_BALANCE) revert Custodian.TokenHoldingsLimit(tokenId, balanceAfter); // MAX_TOKEN_HOLDINGS
        return uint96(received);
    }

    /// @notice Pays the caller's whole {Custodian-withdrawable} entry of `tokenId` (`from`) to `to`, taking it off
    /// what the custodian owes; see {Custodian-withdraw}. Effects before the transfer.
    function withdraw(
        mapping(uint16 => uint256) storage from,
        mapping(uint16 => uint256) storage owed,
        TokenInfo[] storage tokens,
        uint16 tokenId,
        address to
    ) external {
        uint256 amount = from[tokenId];
        if (amount == 0) revert Custodian.NothingToWithdraw(tokenId);
        from[tokenId] = 0;
        owed[tokenId] -= amount;
        emit Custodian.Withdrawn(msg.sender, to, tokenId, amount);
        tokens[tokenId].token.safeTransfer(to, amount);
    }

    /// @notice Checks that the caller owns account `ctx.accountId` (NotAccountOwner) and that it has not exited
    /// (AlreadyExited), marks it exited, verifies its exit proof for its spot `amounts`, `ctx.pooledQuote` and
    /// `ctx.derivativesClaim`, and credits its owner what the custodian can pay, recording the rest of each spot
    /// amount for {claimExitRemainder}; see {Custodian-exit}. The caller
    /// checked exodus mode.
    /// @dev The derivatives claim is recorded within the claim window, or after it due up to what the window's
    /// claims left of the pot ({_payExit}); {_pay} credits what is due in token 0 after the spot amount, as far as
    /// token 0 is free, `ledger.derivativesPaid` grows by what it credited, and the rest of the due waits as the
    /// account's pending claim ({claimDerivatives}).
    /// Every exit proves against the same frozen root, whose globals carry one pooled quote, so every accepted exit
    /// carries the same `pooledQuote`: the pot is that of the frozen state, and all derivatives credits together
    /// never exceed it. Nothing is transferred here (the owner pulls its credit with {Custodian-withdraw}); the only
    /// external calls are static (the verifier's `verifyFlatProof`, each token's `balanceOf`), after the account is
    /// marked exited.
    /// @param accounts The custodian's accounts (their owners).
    /// @param exited The custodian's {Custodian-exited}, set for the account.
    /// @param withdrawable The custodian's {Custodian-withdrawable}, credited to the owner.
    /// @param owed The custodian's {Custodian-owed}, grown by what is credited.
    /// @param priceWords The last oracle batch's index prices, packed as {unpackPrices} reads them.
    /// @param ledger The custodian's exodus ledger: what exits paid of the derivatives pot so far, grown here; the
    /// account's remainders, recorded here.
    function exit(
        mapping(uint32 => Account) storage accounts,
        mapping(uint32 => bool) storage exited,
        mapping(address => mapping(uint16 => uint256)) storage withdrawable,
        mapping(uint16 => uint256) storage owed,
        TokenInfo[] storage tokens,
        mapping(uint256 => uint256) storage priceWords,
        ExodusLedger storage ledger,
        ExitContext memory ctx,
        uint256[] calldata amounts,
        uint256[8] calldata proof
    ) external {
        address owner = accounts[ctx.accountId].owner;
        if (owner != msg.sender) revert ICustodianExits.NotAccountOwner(ctx.accountId, msg.sender);
        if (exited[ctx.accountId]) revert ICustodianExits.AlreadyExited(ctx.accountId);
        exited[ctx.accountId] = true;
        _verifyExit(priceWords, ctx, amounts, proof);
        _payExit(withdrawable[owner], owed, tokens, ledger, ctx, amounts, owner);
    }

    /// @dev {exit}'s payout, after the proof: the spot amounts at once, what is not free recorded as the account's
    /// remainders ({_pay}); the derivatives claim recorded
    /// while the claim window is open (paid by {claimDerivatives} once it ends), or after it, due at once out of
    /// what the window's claims left of the pot: paid as far as token 0 is free after the spot amount, the rest
    /// of the due recorded as the account's pending claim, paid in full by {claimDerivatives} (before, the rest
    /// stayed in the pot, where later exits took it). The whole due leaves the pot (`latePaid`), so what waits for
    /// one account is never due to another: the window's claims are paid at most `min(windowClaims, pot)` and the
    /// late ones at most the rest. `derivativesPaid` grows by what was credited only (the pending part when it is
    /// paid). The ledger grown by what was recorded or paid; the Exited event (its `derivativesPaid`: what was
    /// credited; the pending part: {Custodian-exodusClaim}).
    function _payExit(
        mapping(uint16 => uint256) storage ownerWithdrawable,
        mapping(uint16 => uint256) storage owed,
        TokenInfo[] storage tokens,
        ExodusLedger storage ledger,
        ExitContext memory ctx,
        uint256[] calldata amounts,
        address owner
    ) private {
        uint256 claim = ctx.derivativesClaim;
        uint256 due;
        if (claim != 0) {
            ledger.pot = ctx.pooledQuote; // the same for every exit: each proof binds it to the frozen root
            if (block.timestamp < ledger.windowEnd) {
                ledger.pending[ctx.accountId] = claim;
                ledger.windowClaims += claim;
                emit ICustodianExits.DerivativesClaimPending(ctx.accountId, claim);
            } else {
                uint256 reserved = Math.min(ledger.windowClaims, ctx.pooledQuote);
                due = Math.min(claim, ctx.pooledQuote - reserved - ledger.latePaid);
            }
        }
        (uint256[] memory paid, uint256 derivativesPaid) =
            _pay(ownerWithdrawable, owed, tokens, ledger.remainders[ctx.accountId], ctx.accountId, amounts, due);
        if (due != 0) {
            // The whole due leaves the pot for this account: what token 0 could not pay now waits as its pending
            // claim, paid in full by {claimDerivatives} (due * pot / pot: a late exit is due something only while
            // the window's claims are below the pot), and no later exit takes it.
            ledger.latePaid += due;
            ledger.derivativesPaid += derivativesPaid;
            if (derivativesPaid < due) {
                ledger.pending[ctx.accountId] = due - derivativesPaid;
                emit ICustodianExits.DerivativesClaimPending(ctx.accountId, due - derivativesPaid);
            }
        }
        emit ICustodianExits.Exited(ctx.accountId, owner, amounts, paid, claim, derivativesPaid);
    }

    /// @notice Pays account `accountId`'s pending derivatives claim (recorded within the claim window, or the part a
    /// late exit could not pay), once the window has ended; see {Custodian-claimDerivatives}. The caller checked
    /// exodus mode.
    /// @dev Due: `claim * pot / max(windowClaims, pot)`, rounded down, so the window's claims together are paid at
    /// most `min(windowClaims, pot)` and each the same share (the rounding's dust, under a unit per claim, stays in
    /// the custodian); a late exit's pending part is due in full (a late exit is due anything only when
    /// `windowClaims < pot`, and `windowClaims` no longer moves after the window: `claim * pot / pot`); credited to the account's owner in token 0 in full, or not at all: ClaimNotCovered when the
    /// custodian holds less of token 0 beyond what it owes (anyone may send this, so a partial payment would let a
    /// stranger cut a claim for good while the token misbehaves). The pending claim is cleared before the credit.
    /// @param accounts The custodian's accounts (their owners).
    /// @param withdrawable The custodian's {Custodian-withdrawable}, credited to the owner.
    /// @param owed The custodian's {Custodian-owed}, grown by what is credited.
    /// @param tokens The custodian's registered tokens (token 0, the quote, is read).
    /// @param ledger The custodian's exodus ledger: the pending claim cleared, `derivativesPaid` grown.
    function claimDerivatives(
        mapping(uint32 => Account) storage accounts,
        mapping(address => mapping(uint16 => uint256)) storage withdrawable,
        mapping(uint16 => uint256) storage owed,
        TokenInfo[] storage tokens,
        ExodusLedger storage ledger,
        uint32 accountId
    ) external {
        if (block.timestamp < ledger.windowEnd) revert ICustodianExits.ClaimWindowOpen(ledger.windowEnd);
        uint256 claim = ledger.pending[accountId];
        if (claim == 0) revert ICustodianExits.NoPendingClaim(accountId);
        ledger.pending[accountId] = 0;
        uint256 pot = ledger.pot;
        uint256 due = claim * pot / Math.max(ledger.windowClaims, pot);
        uint16 quote = uint16(ProtocolConstants.QUOTE_TOKEN_ID);
        uint256 free = _free(owed, tokens[quote].token, quote);
        if (free < due) revert ICustodianExits.ClaimNotCovered(due, free);
        address owner = accounts[accountId].owner;
        if (due != 0) {
            ledger.derivativesPaid += due;
            _credit(withdrawable[owner], owed, quote, due);
        }
        emit ICustodianExits.DerivativesClaimPaid(accountId, owner, claim, due);
    }

    /// @notice Pays account `accountId`'s exit remainder of token `tokenId`, the part of its proven spot amount its
    /// exit could not pay ({_pay}); see {Custodian-claimExitRemainder}. Anyone may call; credited to the account's
    /// owner. The caller checked exodus mode.
    /// @dev In full or not at all: ClaimNotCovered when the custodian holds less of the token beyond what it owes
    /// (`balanceOf(this) - owed`, read now; a `balanceOf` that fails reads as 0) than the remainder, which then stays
    /// pending (anyone may send this, so a partial payment would let a stranger cut a claim for good while the token
    /// misbehaves). The credit grows {Custodian-owed}, so a second remainder of the token is checked against what
    /// the first left free: remainders together are never credited beyond what the custodian holds. The remainder
    /// is cleared before the credit; the only external call is the token's static `balanceOf`.
    /// @param accounts The custodian's accounts (their owners).
    /// @param withdrawable The custodian's {Custodian-withdrawable}, credited to the owner.
    /// @param owed The custodian's {Custodian-owed}, grown by what is credited.
    /// @param tokens The custodian's registered tokens.
    /// @param ledger The custodian's exodus ledger: the remainder cleared.
    function claimExitRemainder(
        mapping(uint32 => Account) storage accounts,
        mapping(address => mapping(uint16 => uint256)) storage withdrawable,
        mapping(uint16 => uint256) storage owed,
        TokenInfo[] storage tokens,
        ExodusLedger storage ledger,
        uint32 accountId,
        uint16 tokenId
    ) external {
        uint256 due = ledger.remainders[accountId][tokenId];
        if (due == 0) revert ICustodianExits.NoExitRemainder(accountId, tokenId); // so tokenId is registered below
        uint256 free = _free(owed, tokens[tokenId].token, tokenId);
        if (free < due) revert ICustodianExits.ClaimNotCovered(due, free);
        ledger.remainders[accountId][tokenId] = 0;
        address owner = accounts[accountId].owner;
        _credit(withdrawable[owner], owed, tokenId, due);
        emit ICustodianExits.ExitRemainderPaid(accountId, owner, tokenId, due);
    }

    /// @dev Reverts unless the claim has the exit public data's widths (BadExitAmounts: `ctx.maxTokens` amounts,
    /// each, the pooled quote and the derivatives claim below 2^128) and the exit verifier accepts `proof` for its
    /// public data rebuilt from `ctx` (the frozen root, the account), the stored prices and the claim (InvalidProof).
    function _verifyExit(
        mapping(uint256 => uint256) storage priceWords,
        ExitContext memory ctx,
        uint256[] calldata amounts,
        uint256[8] calldata proof
    ) private view {
        if (amounts.length != ctx.maxTokens) revert ICustodianExits.BadExitAmounts();
        uint256 limit = 1 << ProtocolConstants.BITS_BALANCE;
        for (uint256 t = 0; t < amounts.length; ++t) {
            if (amounts[t] >= limit) revert ICustodianExits.BadExitAmounts();
        }
        if (ctx.pooledQuote >= limit || ctx.derivativesClaim >= limit) revert ICustodianExits.BadExitAmounts();
        uint256[] memory inputs = PublicData.publicInputsOfMemory(
            PublicData.encodeExit(
                ctx.root,
                ctx.accountId,
                unpackPrices(priceWords, ctx.underlyings),
                ctx.pooledQuote,
                ctx.derivativesClaim,
                amounts
            )
        );
        if (!ctx.exitVerifier.verifyFlatProof(proof, inputs)) revert ICustodianExits.InvalidProof();
    }

    /// @notice Gas given to each token's `balanceOf` in an exit: ample for any standard or proxied ERC-20, and a
    /// bound on what a token that burns gas can take.
    uint256 internal constant BALANCE_OF_GAS = 100_000;

    /// @dev Credits each registered token's spot claim, capped at what the custodian holds beyond what it owes
    /// (`min(claimed, balanceOf(this) - owed)`), to the owner and to {Custodian-owed}, and in token 0, after the
    /// spot amount, `derivativesDue` capped at what is still free then; returns what was paid per token id for the
    /// spot claims (unregistered ones: 0) and for the derivatives claim. Each token is read apart from the others
    /// ({_held}): a token whose `balanceOf` reverts, burns its gas or answers malformed data counts as holding
    /// nothing, so its claim pays 0 and the account's other tokens are still paid (one listed token that breaks
    /// cannot lock every exit of every account holding a unit of it, which anyone can give with
    /// {Custodian-depositTo}). The unpaid part of a registered token's spot claim is recorded in `remainders`
    /// (ExitRemainderRecorded), paid in full later by {claimExitRemainder}; it is neither credited nor added to
    /// {Custodian-owed} here. (Unregistered token ids hold nothing, and no token is listed in exodus: none recorded.)
    function _pay(
        mapping(uint16 => uint256) storage ownerWithdrawable,
        mapping(uint16 => uint256) storage owed,
        TokenInfo[] storage tokens,
        mapping(uint16 => uint256) storage remainders,
        uint32 accountId,
        uint256[] calldata amounts,
        uint256 derivativesDue
    ) private returns (uint256[] memory paid, uint256 derivativesPaid) {
        paid = new uint256[](amounts.length);
        uint256 registered = tokens.length;
        for (uint256 t = 0; t < registered; ++t) {
            uint256 due = t == 0 ? derivativesDue : 0;
            if (amounts[t] == 0 && due == 0) continue;
            uint256 free = _free(owed, tokens[t].token, uint16(t));
            uint256 pay = amounts[t] < free ? amounts[t] : free;
            paid[t] = pay;
            if (pay < amounts[t]) {
                remainders[uint16(t)] = amounts[t] - pay;
                emit ICustodianExits.ExitRemainderRecorded(accountId, uint16(t), amounts[t] - pay);
            }
            if (due != 0) {
                free -= pay;
                derivativesPaid = due < free ? due : free;
                pay += derivativesPaid;
            }
            if (pay != 0) _credit(ownerWithdrawable, owed, uint16(t), pay);
        }
    }

    /// @dev What the custodian holds of `token` (id `tokenId`) beyond what it owes: `balanceOf(this) - owed`, or 0
    /// ({_held}).
    function _free(mapping(uint16 => uint256) storage owed, IERC20 token, uint16 tokenId) private view returns (uint256) {
        uint256 held = _held(token);
        uint256 owedNow = owed[tokenId];
        return held > owedNow ? held - owedNow : 0;
    }

    /// @dev `token.balanceOf(this)` with BALANCE_OF_GAS gas and 32 bytes of answer read, or 0 when the call fails or
    /// answers fewer than 32 bytes. Reverts when less than BALANCE_OF_GAS would reach the call (63/64 rule), so
    /// an exit sent with too little gas reverts instead of paying a sound token nothing.
    function _held(IERC20 token) private view returns (uint256 held) {
        if (gasleft() < BALANCE_OF_GAS + BALANCE_OF_GAS / 63 + 5_000) revert ICustodianExits.ExitGasTooLow();
        bytes4 selector = IERC20.balanceOf.selector;
        uint256 gasCap = BALANCE_OF_GAS;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, selector)
            mstore(add(ptr, 4), address())
            let ok := staticcall(gasCap, token, ptr, 36, ptr, 32)
            if and(ok, gt(returndatasize(), 31)) { held := mload(ptr) }
        }
    }

    /// @notice Stores an oracle batch's index prices (7 bytes each, one per underlying, right after the oracle
    /// section's fixed fields) four 64-bit lanes per word, as {unpackPrices} reads them: the prices exits are
    /// proven at ({Custodian-lastPrices}). Here, beside their reader, so the packing is written once.
    function storePrices(mapping(uint256 => uint256) storage priceWords, uint256 underlyings, bytes calldata publicData)
        external
    {
        uint256 at = ProtocolConstants.HEADER_BYTES + ProtocolConstants.ORACLE_FIXED_BYTES;
        uint256 word;
        for (uint256 i = 0; i < underlyings; ++i) {
            uint256 price = uint56(bytes7(publicData[at:at + ProtocolConstants.ORACLE_PRICE_BYTES]));
            at += ProtocolConstants.ORACLE_PRICE_BYTES;
            word |= price << ((i & 3) << 6);
            if (i & 3 == 3 || i + 1 == underlyings) {
                priceWords[i >> 2] = word;
                word = 0;
            }
        }
    }

    /// @notice The index prices of `underlyings` underlyings stored four 64-bit lanes per word (underlying u: word
    /// u / 4, lane u % 4). Internal: compiled into each caller ({Custodian-lastPrices} and {exit}).
    function unpackPrices(mapping(uint256 => uint256) storage priceWords, uint256 underlyings)
        internal
        view
        returns (uint256[] memory prices)
    {
        prices = new uint256[](underlyings);
        for (uint256 i = 0; i < underlyings; ++i) {
            prices[i] = uint64(priceWords[i >> 2] >> ((i & 3) << 6));
        }
    }

    /// @dev Credits `amount` of `tokenId` to a {Custodian-withdrawable} entry, and to what the custodian owes.
    function _credit(
        mapping(uint16 => uint256) storage to,
        mapping(uint16 => uint256) storage owed,
        uint16 tokenId,
        uint256 amount
    ) private {
        to[tokenId] += amount;
        owed[tokenId] += amount;
    }
}
