// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ICustodianTreasury
/// @notice The treasury's withdrawals: the operator queues a FEE_WITHDRAW (type 14, proven by a spot slot) of the
/// fee pool, the timelock (announced longer than the request deadline in advance) an INSURANCE_WITHDRAW (type 15,
/// proven by a derivatives slot) of the insurance fund; the circuit
/// proves it honoured (the fee pool covers the amount; the insurance fund minus the open bad debt covers it) or
/// refused, and an honoured one credits the custodian's {feeRecipient} or {insuranceRecipient} in quote (token 0),
/// pulled with the custodian's withdraw. The recipients change only through the timelock. Errors and events live
/// here so tools can decode them without the whole custodian.
/// @dev The records are FORCED_WITHDRAW's shape, type(1) accountId(4) tokenId(2) amount(12) honoured(1), with
/// accountId 0 and tokenId 0, queued with honoured 0 like every outcome request (sequencer/protocol/constants.ts
/// FORCED_REQUEST_TYPES): the request chain commits to the amount, the outcome byte is the circuit's.
interface ICustodianTreasury {
    /// @notice The treasury's recipients are now `feeRecipient` (FEE_WITHDRAW) and `insuranceRecipient`
    /// (INSURANCE_WITHDRAW): at deployment, then after each timelocked {setTreasuryRecipients}.
    event TreasuryRecipientsSet(address indexed feeRecipient, address indexed insuranceRecipient);
    /// @notice Batch `batchNumber` proved the treasury withdrawal of type `txType` (14 fee pool, 15 insurance fund)
    /// honoured: `amount` of quote (token 0) was credited to `recipient`'s withdrawable balance.
    event TreasuryWithdrawalCredited(
        uint32 indexed batchNumber, uint8 indexed txType, address indexed recipient, uint96 amount
    );
    /// @notice Batch `batchNumber` proved the treasury withdrawal of type `txType` refused (the fee pool, or the
    /// insurance fund beyond the open bad debt, does not cover `amount`): nothing was credited.
    event TreasuryWithdrawalRefused(uint32 indexed batchNumber, uint8 indexed txType, uint96 amount);

    /// @notice A treasury withdrawal of 0.
    error ZeroTreasuryWithdrawal();
    /// @notice The treasury withdrawal of type `txType` queued at `requestIndex` is not consumed yet: one of each
    /// type may be open at a time.
    error TreasuryRequestPending(uint8 txType, uint256 requestIndex);

    /// @notice Queues a FEE_WITHDRAW of `amount` of the fee pool (quote) for {feeRecipient}. Operator only.
    function requestFeeWithdrawal(uint96 amount) external returns (uint256 requestIndex);
    /// @notice Queues an INSURANCE_WITHDRAW of `amount` of the insurance fund (quote) for {insuranceRecipient}.
    /// Operator only.
    function requestInsuranceWithdrawal(uint96 amount) external returns (uint256 requestIndex);
    /// @notice Replaces the treasury's recipients (both non-zero). TIMELOCK_ROLE only.
    function setTreasuryRecipients(address fee, address insurance) external;
    /// @notice Who an honoured FEE_WITHDRAW credits.
    function feeRecipient() external view returns (address);
    /// @notice Who an honoured INSURANCE_WITHDRAW credits.
    function insuranceRecipient() external view returns (address);
}
