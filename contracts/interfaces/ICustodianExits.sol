// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IBatchGroth16Verifier} from "./IBatchGroth16Verifier.sol";

/// @title ICustodianExits
/// @notice The custodian's exit guarantees (issue 12): request deadlines, forced requests, exodus mode, deposit
/// refunds and exit claims, and the timelocked admin. Errors and events live here (Uniswap v4 style) so tools can
/// decode them without the whole custodian.
interface ICustodianExits {
    /// @notice The exit half of the custodian's constructor arguments.
    /// @param requestDeadline Seconds a queued request may wait before anyone may switch the custodian to exodus
    /// mode; in (0, 30 days]. Deployments use 7 days (sequencer/chain/custodianArgs.ts DEFAULT_REQUEST_DEADLINE).
    /// @param exitVerifier Groth16 verifier of the exit circuit, generated as the batch circuit's
    /// (scripts/build/batchVerifierContract.ts); an exit calls its `verifyFlatProof` with the claim's public inputs.
    /// @param timelock An OpenZeppelin TimelockController whose getMinDelay() exceeds requestDeadline: it alone
    /// grants and revokes OPERATOR_ROLE, replaces the oracle key and changes the treasury's recipients.
    /// @param treasury The first recipient of both treasury withdrawals, the fee pool's and the insurance fund's
    /// (ICustodianTreasury); non-zero. Deployments default to the admin (scripts/deploy/deployExchange.ts).
    struct ExitConfig {
        uint64 requestDeadline;
        IBatchGroth16Verifier exitVerifier;
        address timelock;
        address treasury;
    }

    /// @notice Request `index` was queued with its exact record: the bytes a batch must carry for it, chained into
    /// the custodian's request chain (every registration, deposit, forced and treasury request).
    event RequestQueued(uint256 indexed index, bytes record);
    /// @notice The owner of `accountId` queued a forced request at queue index `requestIndex`: a forced withdrawal
    /// (txType 12: spot token `tokenId`; txType 13: derivatives collateral, tokenId 0) or a forced close (txType 18:
    /// `tokenId` is the instrument id, `amount` is `counterpartyId << 64 | lots`, as the queued record carries them).
    event ForcedWithdrawalRequested(
        uint32 indexed accountId, uint8 indexed txType, uint16 tokenId, uint96 amount, uint256 requestIndex
    );
    /// @notice The owner of `accountId` asked for a forced withdrawal while MAX_OPEN_FORCED_REQUESTS outcome requests
    /// were open (or others waited already): it waits at position `position` of the waiting line, and the first
    /// batches that consume outcome requests admit it, oldest first ({ForcedWithdrawalRequested} then names its index).
    event ForcedWithdrawalWaiting(uint32 indexed accountId, uint8 indexed txType, uint16 tokenId, uint96 amount, uint256 position);
    /// @notice Batch `batchNumber` proved account `accountId`'s forced withdrawal refused (the state could not
    /// honour it: balance, or collateral beyond initial margin, too small). Honoured ones emit WithdrawalCredited.
    event ForcedWithdrawalRefused(uint32 indexed batchNumber, uint32 indexed accountId, uint16 tokenId, uint96 amount);
    /// @notice Batch `batchNumber` proved account `accountId`'s forced close of `lots` of its position in instrument
    /// `instrumentId` against account `counterpartyId`: `honoured`, the lots passed at the batch's mark; refused,
    /// nothing moved (one of them did not hold the lots). Nothing is paid on chain either way.
    event ForcedCloseProven(
        uint32 indexed batchNumber, uint32 indexed accountId, uint16 instrumentId, uint32 counterpartyId, uint64 lots, bool honoured
    );
    /// @notice Exodus mode began: `overdueRequest` waited past its deadline; `stateRoot` is frozen for exits.
    event ExodusActivated(uint256 stateRoot, uint256 overdueRequest, uint256 availableAt);
    /// @notice Queued deposit `index`, never consumed, was refunded to its depositor: credited to its withdrawable.
    event DepositRefunded(
        uint256 indexed index, uint32 indexed accountId, address indexed depositor, uint16 tokenId, uint96 amount
    );
    /// @notice Account `accountId` exited. Spot part, per token id: `claimed[t]`, the spot balance its proof claimed,
    /// and `paid[t]`, what was credited to `owner` for it (at most what the custodian held beyond what it already
    /// owes; in full for every token whose `balanceOf` answers; the rest of a registered token's claim is recorded,
    /// {ExitRemainderRecorded}, and paid by {claimExitRemainder}). Derivatives part, in token 0: `derivativesClaimed`,
    /// the proven `max(0, equity)`, and `derivativesPaid`, what was credited for it out of the pot of the proven
    /// pooled quote (what the exits before it left of the pot), as far as token 0 was free; after the claim window
    /// what was due beyond it waits as the account's pending claim ({DerivativesClaimPending}, {Custodian-exodusClaim}, paid by
    /// {Custodian-claimDerivatives}, {DerivativesClaimPaid}). The owner's `withdrawable` of token 0 grew by
    /// `paid[0] + derivativesPaid`, of token t by `paid[t]`.
    event Exited(
        uint32 indexed accountId,
        address indexed owner,
        uint256[] claimed,
        uint256[] paid,
        uint256 derivativesClaimed,
        uint256 derivativesPaid
    );

    /// @notice Account `accountId`'s exit left `amount` of its derivatives claim pending, in token 0, for
    /// {Custodian-claimDerivatives} to pay once the claim window has ended: its whole claim when it exited within the
    /// window (paid then at the window's pro-rata share), or the part of a late exit's due that token 0 could not pay
    /// at the exit (paid then in full). {Custodian-exodusClaim} reads the same amount until it is paid
    /// ({DerivativesClaimPaid}).
    event DerivativesClaimPending(uint32 indexed accountId, uint256 amount);

    /// @notice Account `accountId`'s pending derivatives claim `claimed` was paid `paid` in token 0 (credited to
    /// `owner`): one recorded by its exit within the claim window, `claimed * pot / max(pot, claims recorded in the
    /// window)`, the same share for every claim of the window; or the part of a late exit's due that token 0 could
    /// not pay at the exit, in full (`paid == claimed`).
    event DerivativesClaimPaid(uint32 indexed accountId, address indexed owner, uint256 claimed, uint256 paid);

    /// @notice Account `accountId`'s exit could not pay `amount` of its proven spot balance of token `tokenId` (the
    /// custodian read less of it free than claimed: the token's `balanceOf` failed, read as 0, or the custodian held
    /// less at that moment): it waits, not credited, for {claimExitRemainder} to pay it in full.
    event ExitRemainderRecorded(uint32 indexed accountId, uint16 indexed tokenId, uint256 amount);
    /// @notice Account `accountId`'s exit remainder of token `tokenId`, `amount`, was paid in full: credited to
    /// `owner`'s `withdrawable` of the token.
    event ExitRemainderPaid(uint32 indexed accountId, address indexed owner, uint16 indexed tokenId, uint256 amount);

    /// @notice The request deadline is 0 or above {MAX_REQUEST_DEADLINE}.
    error InvalidRequestDeadline(uint64 requestDeadline);
    /// @notice The timelock's minimum delay does not exceed the request deadline.
    error TimelockDelayTooShort(uint256 minDelay, uint64 requestDeadline);
    /// @notice The custodian is in exodus mode: no batch, deposit, registration or forced request, ever again.
    error ExodusModeActive();
    /// @notice Refunds and exits exist only in exodus mode.
    error NotInExodus();
    /// @notice No request is overdue yet: exodus becomes available at `availableAt` (type(uint256).max: the
    /// queue is empty).
    error ExodusNotAvailable(uint256 availableAt);
    /// @notice A forced withdrawal of 0.
    error ZeroForcedAmount();
    /// @notice The account already has a forced request (queue index `requestIndex`) no batch has consumed.
    error ForcedRequestPending(uint32 accountId, uint256 requestIndex);
    /// @notice {MAX_OPEN_FORCED_REQUESTS} outcome requests (forced withdrawals and the treasury's withdrawals) are
    /// queued and unconsumed; retry after the next batch.
    error TooManyForcedRequests();
    /// @notice This custodian has no derivatives slots, so nothing could consume a collateral (or insurance fund)
    /// withdrawal.
    error NoDerivativesSlots();
    /// @notice A forced close must name an instrument id of the table, another assigned account as its counterparty,
    /// and 1 to 2^40 - 1 lots.
    error BadForcedClose(uint16 instrumentId, uint32 counterpartyId, uint64 lots);
    /// @notice The forced request's outcome byte in slot `slot` is neither 0 (refused) nor 1 (honoured).
    error BadForcedOutcome(uint256 slot, uint8 outcome);
    /// @notice Request `index` is consumed, or not queued: nothing to refund.
    error NotRefundable(uint256 index);
    /// @notice The record given for request `index` is not the one the request chain committed to.
    error RequestMismatch(uint256 index);
    /// @notice Deposit `index` was already refunded.
    error AlreadyRefunded(uint256 index);
    /// @notice Only the owner of `accountId` may claim its exit.
    error NotAccountOwner(uint32 accountId, address caller);
    /// @notice Account `accountId` already exited.
    error AlreadyExited(uint32 accountId);
    /// @notice An exit carries one amount per token id ({maxTokens}), each below 2^128, and a pooled quote and a
    /// derivatives claim below 2^128 (the widths of the exit public data; no proof exists for wider ones).
    error BadExitAmounts();
    /// @notice Derivatives claims recorded in the claim window are paid once it ends, at `windowEnd`.
    error ClaimWindowOpen(uint256 windowEnd);
    /// @notice The custodian holds `free` of the token beyond what it owes, less than the `due` claim (a derivatives
    /// claim, in token 0, or an exit remainder, in its token): the claim stays pending (never paid in part).
    error ClaimNotCovered(uint256 due, uint256 free);
    /// @notice Account `accountId` has no derivatives claim waiting: it did not exit within the claim window with
    /// one (nor after it with a due token 0 could not pay), or it was paid already.
    error NoPendingClaim(uint32 accountId);
    /// @notice Account `accountId` has no exit remainder of token `tokenId` waiting: its exit paid that token in
    /// full (or it has not exited, or the token id is not registered), or the remainder was paid already.
    error NoExitRemainder(uint32 accountId, uint16 tokenId);
    /// @notice An exit was sent with too little gas for each token's guarded `balanceOf` (CustodianPayouts.BALANCE_OF_GAS).
    error ExitGasTooLow();
    /// @notice The verifier rejected the proof (a batch's or an exit's).
    error InvalidProof();

    /// @notice Queues a FORCED_WITHDRAW of `amount` of spot token `tokenId` from the caller's account.
    function forceWithdraw(uint16 tokenId, uint96 amount) external returns (uint256 requestIndex);
    /// @notice Queues a FORCED_COLLATERAL_WITHDRAW of `amount` of quote collateral from the caller's account.
    function forceWithdrawCollateral(uint96 amount) external returns (uint256 requestIndex);
    /// @notice Switches the custodian to exodus mode, for good, once a request is overdue.
    function activateExodus() external;
    /// @notice Refunds unconsumed deposit `index` to its depositor (exodus only).
    function refundDeposit(uint256 index, uint32 accountId, uint16 tokenId, uint96 amount) external;
    /// @notice Claims account `accountId`'s exit from the frozen root (exodus only, once, by its owner): its spot
    /// `amounts` (one per token id), paid at once, and its `derivativesClaim`, out of a pot of the state's
    /// `pooledQuote`: recorded within the claim window and paid pro rata when it ends ({claimDerivatives}), or
    /// after it paid at once out of what the window's claims left, as the exit proof `proof` shows against the
    /// frozen root (circuits/exit/EXIT.md).
    function exit(
        uint32 accountId,
        uint256[] calldata amounts,
        uint256 pooledQuote,
        uint256 derivativesClaim,
        uint256[8] calldata proof
    ) external;
    /// @notice Pays account `accountId`'s derivatives claim recorded within the claim window, once it has ended
    /// (anyone may call; credited to the owner).
    function claimDerivatives(uint32 accountId) external;
    /// @notice Pays account `accountId`'s exit remainder of token `tokenId`, the part of its proven spot balance its
    /// exit could not pay (anyone may call; credited to the owner), in full or not at all.
    function claimExitRemainder(uint32 accountId, uint16 tokenId) external;
    /// @notice Quote token credited for derivatives claims so far (by late exits and claimDerivatives); never above
    /// the proven pooled quote of the frozen root.
    function exodusDerivativesPaid() external view returns (uint256);
    /// @notice The exodus claim window (when it ends, 0 before exodus; the derivatives claims recorded in it
    /// together; the pot, the frozen state's pooled quote, known from the first exit with a claim) and account
    /// `accountId`'s claim recorded in it and not paid yet (0 if none).
    function exodusClaim(uint32 accountId)
        external
        view
        returns (uint256 windowEnd, uint256 windowClaims, uint256 pot, uint256 pending);
    /// @notice When request `index` was queued, or for a forced request admitted from the waiting line, when it
    /// joined the line (its deadline runs from then); 0 if not queued.
    function queuedAt(uint256 index) external view returns (uint64);
    /// @notice Who queued request `index` (the depositor of a deposit).
    function queuedBy(uint256 index) external view returns (address);
    /// @notice When the oldest unconsumed request passes its deadline, counted from its call: from its queueing, or
    /// for a forced request that had to wait in line for a place, from its joining the line (waiting or admitted);
    /// type(uint256).max if none is queued or waiting.
    function exodusAvailableAt() external view returns (uint256);
    /// @notice Index prices (one per underlying) of the last accepted batch that used the oracle; 0 before any.
    function lastPrices() external view returns (uint256[] memory);
}

/// @notice What the custodian reads of its timelock: OpenZeppelin's TimelockController delay, and AdminTimelock's floor.
interface ITimelockDelay {
    /// @notice Minimum delay, in seconds, between scheduling and executing an operation.
    function getMinDelay() external view returns (uint256);
    /// @notice The delay below which the timelock never goes (AdminTimelock's {updateDelay} bound). A contract
    /// without it (OpenZeppelin's TimelockController unchanged) is refused as the custodian's timelock.
    function minDelayFloor() external view returns (uint256);
}
