/**
 * Typed answers of the API that the SDK reads: what each server message holds. The request shapes are
 * in schemas.ts; the encoding rules (bigints as decimal strings) are toJson's.
 */
import type { Side } from "../protocol/constants.ts";

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
  /** Accounts whose open derivatives orders were cancelled for want of margin. */
  cancelled: number[];
};
