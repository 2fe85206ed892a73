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

/**
 * FEE_WITHDRAW is honoured exactly when the fee pool covers the amount and so does the pooled quote (circuit:
 * FeeWithdraw; DERIVATIVES.md "Pooled quote": the pool is never paid out of quote that backs spot balances).
 */
export function feeWithdrawHonoured(feePool: bigint, pooledQuote: bigint, amount: bigint): boolean {
  return feePool >= amount && pooledQuote >= amount;
}

/**
 * Whether the collateral side covers `amount` leaving it (DERIVATIVES.md "Pooled quote"; circuit: DerivSlot's
 * `backed`): the pooled quote less the fee pool, i.e. every account's funding-settled collateral plus the insurance
 * fund, is at least the amount. A TRANSFER out of collateral needs it (unprovable without), a
 * FORCED_COLLATERAL_WITHDRAW and an INSURANCE_WITHDRAW are refused without it. So quote leaves the derivatives side
 * only while that side holds it: when accounts under water owe more than the rest holds, their counterparties' gains
 * wait (for liquidation, deleverage) instead of being paid out of the spot balances' quote.
 */
export function collateralSideCovers(g: Pick<Globals, "pooledQuote">, feePool: bigint, amount: bigint): boolean {
  return g.pooledQuote - feePool >= amount;
}

/**
 * INSURANCE_WITHDRAW is honoured exactly when the fund keeps at least the open bad debt after paying the amount
 * and the collateral side covers it (circuit: InsuranceWithdraw): `insuranceFund >= amount + badDebt` and
 * {@link collateralSideCovers}.
 */
export function insuranceWithdrawHonoured(g: Pick<Globals, "insuranceFund" | "badDebt" | "pooledQuote">, feePool: bigint, amount: bigint): boolean {
  return g.insuranceFund >= amount + g.badDebt && collateralSideCovers(g, feePool, amount);
}
