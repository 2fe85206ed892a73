/** Transactions as the batcher receives them: what one batch slot proves. */
import type { PublicKey } from "../crypto/babyjub.ts";
import type { Cancel, Order, Signed, Transfer, Withdrawal } from "./messages.ts";
import { TxType, type InstrumentKind } from "./constants.ts";

export type NoopTx = { type: typeof TxType.NOOP };
export type RegisterKeyTx = { type: typeof TxType.REGISTER_KEY; accountId: number; pubKey: PublicKey };
export type DepositTx = { type: typeof TxType.DEPOSIT; accountId: number; tokenId: number; amount: bigint };
export type RegisterMarketTx = {
  type: typeof TxType.REGISTER_MARKET;
  marketId: number;
  baseTokenId: number;
  sizeUnit: bigint;
  priceUnit: bigint;
};
export type TradeTx = {
  type: typeof TxType.TRADE;
  buy: Signed<Order>;
  sell: Signed<Order>;
  lots: bigint;
  priceTicks: bigint;
  buyFeePpm: number;
  sellFeePpm: number;
};
export type WithdrawTx = { type: typeof TxType.WITHDRAW; request: Signed<Withdrawal> };
export type CancelTx = { type: typeof TxType.CANCEL; request: Signed<Cancel> };
/**
 * An order the risk engine cancelled (its account's balance or margin no longer covers it), cancelled in the
 * proven state too: unsigned, queued by the exchange core; the order's storage slot becomes cancelled.
 */
export type OperatorCancelTx = { type: typeof TxType.OPERATOR_CANCEL; accountId: number; orderId: bigint };


/** A derivatives trade: the orders sign marketId = INSTRUMENT_MARKET_BASE + instrumentId. */
export type DerivTradeTx = Omit<TradeTx, "type"> & { type: typeof TxType.DERIV_TRADE };
/** Closes `lots` of the liquidated account's position against the liquidator's signed order. */
export type LiquidateTx = {
  type: typeof TxType.LIQUIDATE;
  liquidatedAccountId: number;
  liquidator: Signed<Order>;
  lots: bigint;
  priceTicks: bigint;
  liquidatorFeePpm: number;
};
/**
 * Auto-deleveraging (DERIVATIVES.md, "DELEVERAGE"): the bankrupt account (its equity plus the insurance fund
 * is negative) passes `lots` of its position in the instrument to the counterparty, which holds the opposite
 * position, at the instrument's mark, and the counterparty pays `amount` of its deficit; unsigned, no fee. With
 * `lots` 0 (socialised) the bankrupt account holds nothing, the counterparty is any account and only pays.
 */
export type DeleverageTx = {
  type: typeof TxType.DELEVERAGE;
  deleveragedAccountId: number;
  counterpartyAccountId: number;
  instrumentId: number;
  lots: bigint;
  amount: bigint;
};
/** Pays out an account's position in an instrument that has settled at expiry. */
export type SettleTx = { type: typeof TxType.SETTLE; accountId: number; instrumentId: number };
export type TransferTx = { type: typeof TxType.TRANSFER; request: Signed<Transfer> };
/** Instrument parameters as registered on the custodian (circuits/DERIVATIVES.md, "Instruments"). */
export type InstrumentSpec = {
  kind: InstrumentKind;
  underlying: number;
  lotSizeE6: bigint;
  tickValue: bigint;
  imPpm: bigint;
  mmPpm: bigint;
  strike: bigint;
  expiry: number;
  fundingCapPpm: bigint;
};
export type RegisterInstrumentTx = { type: typeof TxType.REGISTER_INSTRUMENT; instrumentId: number } & InstrumentSpec;

/**
 * A forced withdrawal the account's owner queued on the custodian (FORCED_WITHDRAW: a spot balance, in a spot
 * slot; FORCED_COLLATERAL_WITHDRAW: quote collateral, `tokenId` 0, in a derivatives slot). Unsigned: the
 * custodian checked the caller owns the account. Whether it is honoured is not chosen by anyone: the state
 * decides, and the circuit proves it (the record's `honoured` byte).
 */
export type ForcedWithdrawTx = {
  type: typeof TxType.FORCED_WITHDRAW | typeof TxType.FORCED_COLLATERAL_WITHDRAW;
  accountId: number;
  tokenId: number;
  amount: bigint;
};

/**
 * A withdrawal of the fee pool (FEE_WITHDRAW, spot slot) or of the insurance fund (INSURANCE_WITHDRAW,
 * derivatives slot) that the custodian's operator queued; paid to the recipient the custodian names. Unsigned
 * (the custodian checked the role); no account. Honoured exactly when the pool covers `amount`, or when the fund
 * keeps at least the open bad debt after it (state/forcedWithdrawal.ts); the circuit proves the outcome.
 */
export type TreasuryWithdrawTx = {
  type: typeof TxType.FEE_WITHDRAW | typeof TxType.INSURANCE_WITHDRAW;
  amount: bigint;
};

/**
 * A forced close the account's owner queued on the custodian (FORCED_CLOSE, derivatives slot): `lots` of its
 * position in `instrumentId` pass to `counterpartyId`, who holds at least as many on the other side, at the batch's
 * mark (circuits/DERIVATIVES.md "FORCED_CLOSE"). Unsigned: the custodian checked the caller owns the account.
 * Honoured exactly when both positions hold the lots (state/forcedWithdrawal.ts forcedCloseFault); the circuit
 * proves the outcome.
 */
export type ForcedCloseTx = {
  type: typeof TxType.FORCED_CLOSE;
  accountId: number;
  instrumentId: number;
  counterpartyId: number;
  lots: bigint;
};

export type SpotTx =
  | NoopTx | RegisterKeyTx | DepositTx | RegisterMarketTx | TradeTx | WithdrawTx | CancelTx | ForcedWithdrawTx | TreasuryWithdrawTx | OperatorCancelTx;
export type DerivTx =
  | NoopTx | DerivTradeTx | LiquidateTx | SettleTx | TransferTx | RegisterInstrumentTx | ForcedWithdrawTx | TreasuryWithdrawTx | DeleverageTx | ForcedCloseTx;
export type BatchTx = SpotTx | DerivTx;

export const NOOP: NoopTx = { type: TxType.NOOP };

/** The accounts a transaction concerns: whose history shows its rejection, and in a derivatives slot its A and B (whose positions it reads). */
export function txAccounts(tx: BatchTx): number[] {
  switch (tx.type) {
    case TxType.TRADE:
    case TxType.DERIV_TRADE:
      return [tx.buy.accountId, tx.sell.accountId];
    case TxType.WITHDRAW:
    case TxType.CANCEL:
    case TxType.TRANSFER:
      return [tx.request.accountId];
    case TxType.LIQUIDATE:
      return [tx.liquidatedAccountId, tx.liquidator.accountId];
    case TxType.DELEVERAGE:
      return [tx.deleveragedAccountId, tx.counterpartyAccountId];
    case TxType.FORCED_CLOSE:
      return [tx.accountId, tx.counterpartyId];
    case TxType.SETTLE:
    case TxType.OPERATOR_CANCEL:
    case TxType.REGISTER_KEY:
    case TxType.DEPOSIT:
    case TxType.FORCED_WITHDRAW:
    case TxType.FORCED_COLLATERAL_WITHDRAW:
      return [tx.accountId];
    default:
      return [];
  }
}
