/** Transactions as the batcher receives them: what one batch slot proves. */
import type { PublicKey } from "../crypto/babyjub.ts";
import type { Cancel, Order, Signed, Withdrawal } from "../protocol/messages.ts";
import { TxType } from "../protocol/constants.ts";

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

export type BatchTx = NoopTx | RegisterKeyTx | DepositTx | RegisterMarketTx | TradeTx | WithdrawTx | CancelTx;

export const NOOP: NoopTx = { type: TxType.NOOP };
