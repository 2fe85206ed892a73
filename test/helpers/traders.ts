/** Deterministic test traders and signed orders. */
import { publicKeyOf, type PublicKey } from "../../sequencer/crypto/babyjub.ts";
import { OrderType, Side, TimeInForce } from "../../sequencer/protocol/constants.ts";
import type { Order, Signed } from "../../sequencer/protocol/messages.ts";
import { signOrder } from "../../sequencer/protocol/signing.ts";

export type TestTrader = { accountId: number; key: Uint8Array; pubKey: PublicKey };

export function testTrader(accountId: number): TestTrader {
  const key = new Uint8Array(32).fill(accountId + 17);
  return { accountId, key, pubKey: publicKeyOf(key) };
}

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
