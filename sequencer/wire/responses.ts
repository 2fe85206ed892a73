/**
 * Typed answers of the API that the SDK reads: what each server message holds. The request shapes are
 * in schemas.ts; the encoding rules (bigints as decimal strings) are toJson's.
 */
import type { Side, TriggerType } from "../protocol/constants.ts";
import type { Order } from "../protocol/messages.ts";
import type { OrderView } from "../matching/index.ts";

/** One trade of a market, as everyone sees it (GET /v1/markets/:id/trades; the stream's `trade` message with its id and time). */
export type TradeRecord = {
  /** The fill id of the trade (as in both accounts' fills): counts trades from 1, so it grows with time. */
  tradeId: number;
  marketId: number;
  priceTicks: bigint;
  lots: bigint;
  makerSide: Side;
  /** Unix seconds when the server saw the trade. */
  time: number;
};

/** The effect of an accepted oracle update (POST /v1/oracle/updates): the answer the oracle feeder reads. */
export type OracleOutcome = {
  fundingTick: boolean;
  settled: number[];
  /** [accountId, instrumentId, lots] of each liquidation. */
  liquidations: [number, number, bigint][];
  /** [bankrupt accountId, counterparty accountId, instrumentId, lots] of each auto-deleveraging close (DELEVERAGE; lots 0: a socialised payment). */
  deleveraged: [number, number, number, bigint][];
  /** Accounts whose open derivatives orders were cancelled for want of margin. */
  cancelled: number[];
};

/** A live order resting in the book, among an account's open orders (GET /v1/accounts/:id `openOrders`). */
export type BookOrderView = OrderView & { status: "open" };

/**
 * A stop or take-profit order the exchange holds, untriggered, until the instrument's mark crosses its trigger
 * (docs/client.md 6.8), among an account's open orders: the signed fields (trigger included, without the
 * signature), nothing filled yet, and when it arrived. Not in the book and no margin reserved for it.
 */
export type HeldOrderView = Order & {
  status: "held";
  triggerType: TriggerType;
  triggerPriceTicks: bigint;
  remainingLots: bigint;
  filledLots: bigint;
  /** Unix seconds (the sequencer's clock) when the order arrived and was held. */
  heldSince: number;
};

/** One of an account's open orders: resting in the book (`status: "open"`) or held until its trigger (`status: "held"`). */
export type OpenOrderView = BookOrderView | HeldOrderView;
