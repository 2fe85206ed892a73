/**
 * The outcome rules of the requests with an outcome (issue 12): the forced withdrawals an account's owner
 * queues on the custodian, and the treasury's withdrawals of the fee pool and the insurance fund its operator
 * queues. Each is the one function that decides `honoured`, for the witness builders (what the batch circuit
 * proves, SPEC.md "FORCED_WITHDRAW" and "FEE_WITHDRAW", DERIVATIVES.md "FORCED_COLLATERAL_WITHDRAW" and
 * "INSURANCE_WITHDRAW") and for intake (exchangeCore.ts, which predicts a forced withdrawal's outcome on its
 * own view of the account). Nobody chooses the outcome: the state decides it.
 */
import { accountRisk, type DerivAccount, type Globals, type LotRisk } from "../derivatives/formulas.ts";

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

/** FEE_WITHDRAW is honoured exactly when the fee pool covers the amount (circuit: FeeWithdraw). */
export function feeWithdrawHonoured(feePool: bigint, amount: bigint): boolean {
  return feePool >= amount;
}

/**
 * INSURANCE_WITHDRAW is honoured exactly when the fund keeps at least the open bad debt after paying the amount
 * (circuit: InsuranceWithdraw): `insuranceFund >= amount + badDebt`.
 */
export function insuranceWithdrawHonoured(g: Pick<Globals, "insuranceFund" | "badDebt">, amount: bigint): boolean {
  return g.insuranceFund >= amount + g.badDebt;
}
