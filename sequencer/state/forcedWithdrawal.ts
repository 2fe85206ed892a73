/**
 * The outcome rule of the forced withdrawals an account's owner queues on the custodian (issue 12): the one
 * function that decides `honoured`, for the witness builders (what the batch circuit proves, SPEC.md
 * "FORCED_WITHDRAW", DERIVATIVES.md "FORCED_COLLATERAL_WITHDRAW") and for intake (exchangeCore.ts, which
 * predicts the outcome on its own view of the account). Nobody chooses the outcome: the state decides it.
 */
import { accountRisk, type DerivAccount, type LotRisk } from "../derivatives/formulas.ts";

/** FORCED_WITHDRAW is honoured exactly when the spot balance covers the amount (circuit: ForcedWithdraw). */
export function forcedWithdrawHonoured(balance: bigint, amount: bigint): boolean {
  return balance >= amount;
}

/**
 * The initial-margin rule a signed TRANSFER out of collateral obeys, and the outcome of a
 * FORCED_COLLATERAL_WITHDRAW: `after` (the account with its funding settled and the amount taken out of its
 * collateral) has equity at least its initial margin at the batch's marks (circuit: DerivSlot's aIM).
 */
export function meetsInitialMargin(after: DerivAccount, risks: readonly LotRisk[]): boolean {
  const r = accountRisk(after, risks);
  return r.equity >= r.im;
}
