/**
 * Types of the matching engine: orders, commands in, events out.
 *
 * Integers only: prices are in ticks, sizes in lots (bigint, both < 2^40), times are unix seconds
 * (number, < 2^32), fee rates are parts per million (number, < 2^16). No floats anywhere.
 */
import type { OrderType, Side, TimeInForce } from "../protocol/constants.ts";
import type { Order as ProtocolOrder } from "../protocol/messages.ts";

/**
 * An order as signed by its trader and submitted to the engine: the protocol's signed order fields
 * (sequencer/protocol/messages.ts, the order message of circuits/SPEC.md). An account never reuses an
 * order id (the engine refuses it); for a MARKET order the limit price is the worst price accepted;
 * the order is expired when `expiry < command time`.
 */
export type Order = Readonly<ProtocolOrder>;

/** An order accepted by the engine: the order plus the engine's sequence number (the placing command's). */
export type SequencedOrder = Order & { readonly seq: number };

/** An order with its fill state: query results, and what the risk hook is shown. */
export type OrderView = SequencedOrder & {
  readonly remainingLots: bigint;
  readonly filledLots: bigint;
};

// ---- commands ---------------------------------------------------------------------------------

/** Every command carries the time at which the engine executes it; the engine never reads a clock. */
export type PlaceCommand = { readonly kind: "place"; readonly time: number; readonly order: Order };
export type CancelCommand = {
  readonly kind: "cancel";
  readonly time: number;
  readonly accountId: number;
  readonly orderId: bigint;
};
/** Cancels every live order of an account, or only those in `marketId` when given; `reason` defaults to user. */
export type CancelAllCommand = {
  readonly kind: "cancelAll";
  readonly time: number;
  readonly accountId: number;
  readonly marketId?: number;
  readonly reason?: CancelReason;
};
/**
 * Takes a live order that has filled nothing out of the book as if it had never been accepted: its reservation
 * released and its id usable again, so the same signed order can be placed later. For a stop or take-profit
 * order whose trigger the mark no longer crosses (the sequencer holds it again). Reported as cancelled with
 * `reason`; refused UNKNOWN_ORDER when not live, PARTLY_FILLED when something of it filled.
 */
export type UnplaceCommand = {
  readonly kind: "unplace";
  readonly time: number;
  readonly accountId: number;
  readonly orderId: bigint;
  readonly reason: CancelReason;
};
export type Command = PlaceCommand | CancelCommand | CancelAllCommand | UnplaceCommand;

// ---- events -----------------------------------------------------------------------------------

/** Why a command was refused. A refused command changes nothing (beyond the engine's sequence number). */
export const RejectCode = {
  /** A field has the wrong type or is outside its protocol width (ids, side, type, fee, times). */
  MALFORMED: "MALFORMED",
  /** The account already used this order id (live, filled or cancelled). */
  DUPLICATE_ORDER_ID: "DUPLICATE_ORDER_ID",
  UNKNOWN_MARKET: "UNKNOWN_MARKET",
  ZERO_SIZE: "ZERO_SIZE",
  /** Price negative or above 2^40-1. */
  PRICE_OUT_OF_RANGE: "PRICE_OUT_OF_RANGE",
  /** Size negative or above 2^40-1. */
  SIZE_OUT_OF_RANGE: "SIZE_OUT_OF_RANGE",
  /** A MARKET order cannot be POST_ONLY. */
  INVALID_TIME_IN_FORCE: "INVALID_TIME_IN_FORCE",
  /** POST_ONLY order that would trade on entry. */
  WOULD_CROSS: "WOULD_CROSS",
  /** FOK order that cannot be filled entirely on entry. */
  FOK_UNFILLABLE: "FOK_UNFILLABLE",
  /** Order already expired at the command's time. */
  EXPIRED: "EXPIRED",
  /** Cancel of an order that is not live. */
  UNKNOWN_ORDER: "UNKNOWN_ORDER",
  /** Unplace of an order that has filled something (only an order with nothing filled can leave as if never accepted). */
  PARTLY_FILLED: "PARTLY_FILLED",
  /** The risk hook refused the order. */
  RISK_REJECTED: "RISK_REJECTED",
  /** The order's signed maxFeePpm is below the market's rate for a role it can take (fees.ts requiredMaxFeePpm). */
  MAX_FEE_TOO_LOW: "MAX_FEE_TOO_LOW",
  /** A reduce-only order on a spot market: only a derivatives position can be reduced (the circuit refuses the flag in a spot trade). */
  REDUCE_ONLY_SPOT: "REDUCE_ONLY_SPOT",
  /** A reduce-only order that cannot reduce its account's position now (flat, or the order is on the position's own side): any fill would open, increase or flip it. */
  REDUCE_ONLY_INCREASES: "REDUCE_ONLY_INCREASES",
  /**
   * A derivatives order on an instrument in which its account has no position, while it already holds positions in
   * as many instruments as the circuit's position slots (`params.positionSlots`: sequencer/risk/positionLimit.ts):
   * it could not fill now (its first fill would open one position more than the account can hold). Open orders do
   * not count: an account may rest orders on any number of instruments, each judged when it fills (position-slots).
   */
  TOO_MANY_POSITIONS: "TOO_MANY_POSITIONS",
} as const;
export type RejectCode = (typeof RejectCode)[keyof typeof RejectCode];

/** Why an order left the book without being completely filled. */
export const CancelReason = {
  USER: "user",
  IOC_REMAINDER: "ioc-remainder",
  SELF_TRADE: "self-trade",
  EXPIRED: "expired",
  /** The account's trading key changed: orders signed with the old key can no longer be proven. */
  KEY_ROTATED: "key-rotated",
  /**
   * The account's balance or margin no longer covers the order: a transaction of the account could not be
   * proven and was undone, or a forced withdrawal (issue 12) took what the order had reserved.
   */
  UNCOVERED: "uncovered",
  /**
   * A reduce-only order has reduced its account's position as far as it can: the position is flat or on the
   * order's own side (filled up to |position|, the rest cancelled; or a resting one met after the position closed).
   */
  REDUCE_ONLY: "reduce-only",
  /** A stop or take-profit order whose trigger the mark crossed could not be placed: its instrument is no longer tradable (settled, expired). */
  TRIGGER_UNTRADABLE: "trigger-untradable",
  /**
   * A stop or take-profit order placed when the mark crossed its trigger, nothing of it filled yet, taken out of the
   * book because a later mark no longer crosses it: it is held again ("held" follows, same id and slot) until a mark
   * does. Its first fill must be at a crossing mark (the circuit's TriggerFill); a partly filled one stays in the book.
   */
  TRIGGER_UNCROSSED: "trigger-uncrossed",
  /**
   * An incoming order filled MAX_FILLS_PER_ORDER times and crossed still more of the book: its remainder is cancelled
   * (each fill takes a batch slot; one order sweeping thousands of one-lot makers held everyone's requests behind it).
   */
  FILL_LIMIT: "fill-limit",
  /**
   * A derivatives order met for a fill while its account held positions in as many instruments as its position slots,
   * none in the order's (sequencer/risk/positionLimit.ts): the fill would open a position beyond them. A resting maker
   * is cancelled and matching goes on with the next; a taker's remainder is cancelled. Open orders take no slot, so
   * this is how an order on an instrument beyond them ends (refused TOO_MANY_POSITIONS instead when placed then).
   */
  POSITION_SLOTS: "position-slots",
} as const;
export type CancelReason = (typeof CancelReason)[keyof typeof CancelReason];

/** The place command's order passed every check, was reserved by risk and is now live. */
export type AcceptedEvent = {
  readonly type: "accepted";
  readonly accountId: number;
  readonly orderId: bigint;
  readonly marketId: number;
  readonly seq: number;
};
/** The command was refused. Ids are echoed when they had the right type, else null. */
export type RejectedEvent = {
  readonly type: "rejected";
  readonly accountId: number | null;
  readonly orderId: bigint | null;
  readonly code: RejectCode;
};
/**
 * A trade. Price is always the maker's. Fee rates are the rates to charge each side:
 * min(market's maker/taker rate, that order's maxFeePpm).
 */
export type FillEvent = {
  readonly type: "fill";
  readonly makerAccount: number;
  readonly makerOrderId: bigint;
  readonly takerAccount: number;
  readonly takerOrderId: bigint;
  readonly marketId: number;
  readonly priceTicks: bigint;
  readonly lots: bigint;
  readonly makerSide: Side;
  readonly makerFeePpm: number;
  readonly takerFeePpm: number;
};
/** An order left the engine unfilled in part; `remainingLots` is what was left. */
export type CancelledEvent = {
  readonly type: "cancelled";
  readonly accountId: number;
  readonly orderId: bigint;
  readonly marketId: number;
  readonly reason: CancelReason;
  readonly remainingLots: bigint;
};
/** Last event of every command. */
export type DoneEvent = { readonly type: "done"; readonly seq: number };
/**
 * A stop or take-profit order held by the sequencer (not the engine: its slot and id are taken, no margin
 * is reserved) until the instrument's mark crosses its trigger ("triggered", then the placement's events).
 */
export type TriggerEvent = {
  readonly type: "held" | "triggered";
  readonly accountId: number;
  readonly orderId: bigint;
  readonly marketId: number;
};

export type EngineEvent = AcceptedEvent | RejectedEvent | FillEvent | CancelledEvent | DoneEvent | TriggerEvent;

// ---- configuration ----------------------------------------------------------------------------

/** What the engine does when a taker meets a resting order of its own account. */
export const SelfTradePolicy = {
  /** Cancel the resting order (reason self-trade) and keep matching. The default. */
  CANCEL_MAKER: "cancel-maker",
  /** Cancel what remains of the incoming order (reason self-trade); fills already made stand. */
  CANCEL_TAKER: "cancel-taker",
} as const;
export type SelfTradePolicy = (typeof SelfTradePolicy)[keyof typeof SelfTradePolicy];

/** A market: BASE/QUOTE where the quote is token 0. */
export type MarketParams = {
  readonly marketId: number;
  readonly baseTokenId: number;
  /** Base-token amount of one lot. */
  readonly sizeUnit: bigint;
  /** Quote-token amount of one tick per lot: notional = lots * priceTicks * priceUnit. */
  readonly priceUnit: bigint;
  readonly makerFeePpm: number;
  readonly takerFeePpm: number;
};

/** One aggregated price level of a depth query. */
export type DepthLevel = { readonly priceTicks: bigint; readonly lots: bigint; readonly orders: number };
export type Depth = { readonly bids: DepthLevel[]; readonly asks: DepthLevel[] };
