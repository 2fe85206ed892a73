/** Deterministic test traders (scripts/fixtures/offlineSequencer.ts, shared with the benchmarks) and signed orders. */
import { OrderType, Side, TimeInForce } from "../../sequencer/protocol/constants.ts";
import type { Order, Signed } from "../../sequencer/protocol/messages.ts";
import { signOrder } from "../../sequencer/protocol/signing.ts";
import type { TestTrader } from "../../scripts/fixtures/offlineSequencer.ts";

export { testTrader, type TestTrader } from "../../scripts/fixtures/offlineSequencer.ts";

export function order(t: TestTrader, fields: Partial<Order> & { orderId: bigint; side: Side }): Signed<Order> {
  return signOrder(t.key, {
    accountId: t.accountId,
    marketId: 0,
    type: OrderType.LIMIT,
    timeInForce: TimeInForce.GTC,
    priceTicks: 100n,
    sizeLots: 10n,
    maxFeePpm: 1000,
    expiry: 2_000_000_000,
    ...fields,
  });
}
