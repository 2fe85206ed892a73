/**
 * The engine's only view of risk. The engine holds no risk rules: it asks this hook before accepting an
 * order and tells it about everything that changes an order's exposure. Spot balances
 * (sequencer/risk/spotRisk.ts) implement it today; the derivatives margin engine plugs into the same hook.
 *
 * Lifecycle of every order, as seen by the hook:
 *   reserve (returns true)  ->  onFill*  ->  release (exactly once, when the order leaves the engine:
 *   completely filled with remainingLots = 0, or cancelled for any reason with what was left).
 * An order refused by `reserve`, or by any check before it, is never seen again.
 *
 * Calls are synchronous and in event order; a hook must be deterministic (no clocks, no I/O) for the
 * engine to be. Hooks must not throw (a throw mid-match leaves the command half applied) and must not
 * call back into the engine. Order objects are the engine's live state (in
 * onFill, remainingLots/filledLots already include the fill): read them, never keep them.
 */
import type { FillEvent, MarketParams, OrderView, RejectCode } from "./types.ts";

export interface RiskHook {
  /** May this order be accepted? If so, reserve what it may consume and return true; else change nothing and return false. */
  reserve(order: OrderView, market: MarketParams): boolean;
  /** A fill between a resting maker and the incoming taker: move balances, release the filled part's reservation. */
  onFill(fill: FillEvent, maker: OrderView, taker: OrderView, market: MarketParams): void;
  /** The order is done with `remainingLots` unfilled: release what is still reserved for it. */
  release(order: OrderView, remainingLots: bigint, market: MarketParams): void;
  /**
   * The most lots a reduce-only order may fill now (its account's position as the accepted fills leave it,
   * DERIVATIVES.md "Reduce-only orders"), asked before each of its fills and when it is placed; undefined:
   * no limit. A hook without it sets none.
   */
  fillLimit?(order: OrderView, market: MarketParams): bigint | undefined;
  /**
   * May this order fill now (changing nothing)? Asked before each fill, for the maker and for the taker, and for FOK's
   * check on entry; as the fills accepted so far leave its account (onFill has seen them). The derivatives hook: its
   * account holds the order's instrument or has a free position slot (sequencer/risk/positionLimit.ts). A resting
   * maker that may not is cancelled (reason position-slots) and matching goes on with the next; a taker that may not
   * stops, its remainder cancelled with that reason (a hook whose `refusal` asks canFill, as the derivatives hook's
   * does, never lets such a taker in: its own fills are in its own instrument). A hook without it lets every order
   * fill.
   */
  canFill?(order: OrderView, market: MarketParams): boolean;
  /**
   * A refusal with its own code, asked right before `reserve` (which it must not change anything for): the code the
   * engine rejects the order with (e.g. TOO_MANY_POSITIONS, an order that could not fill now), or null to go on to
   * `reserve`. A hook without it has none.
   */
  refusal?(order: OrderView, market: MarketParams): RejectCode | null;
}

/** Accepts every order and tracks nothing: the engine without risk (tests, benchmarks). */
export const noRisk: RiskHook = {
  reserve: () => true,
  onFill: () => {},
  release: () => {},
};
