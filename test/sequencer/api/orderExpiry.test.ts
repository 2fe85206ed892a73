/**
 * An order past its expiry, as a trader polling the API sees it (docs/client.md 6.4): between its expiry and the
 * next record (which sweeps it: ExchangeCore.apply), the order history (GET /v1/accounts/:id/orders, with and
 * without `status`) and the single-order read (GET /v1/accounts/:id/orders/:orderId) already answer it as the sweep
 * will leave it, `cancelled` with reason `expired` and nothing remaining, as the book and `openOrders` leave it out;
 * the sweep's own `order` message on the private stream then carries that same record, and the reads do not change.
 * A held stop order past its expiry is in `openOrders` no more and its read answers what it answers once the sweep
 * drops it (404: held orders are not in the order history) is in derivatives.test.ts.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Side } from "../../../sequencer/protocol/constants.ts";
import { signCancel } from "../../../sequencer/protocol/signing.ts";
import { createApiServer } from "../../../sequencer/api/server.ts";
import type { OrderStatusView } from "../../../sequencer/api/history.ts";
import { get, post, wire } from "../../helpers/apiInject.ts";
import { order } from "../../helpers/traders.ts";
import { alice, bob, offlineSequencer } from "../../helpers/sequencer.ts";

describe("api: an order past its expiry reads as expired on every read path, before the sweep as after it", () => {
  it("history, status filters and the single-order read answer cancelled/expired at the read's clock; the sweep's stream message is that same record", async () => {
    let now = 1_700_000_000;
    const s = offlineSequencer({ clock: () => now });
    const app = createApiServer(s);
    after(() => app.close());
    // what the private stream is given (its `order` messages), as the server hands it over
    const streamed: OrderStatusView[] = [];
    const publish = app.api.stream.publish.bind(app.api.stream);
    app.api.stream.publish = (events, changes) => {
      streamed.push(...changes.orders);
      publish(events, changes);
    };

    const expiry = now + 10;
    const gtt = order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 100n, sizeLots: 10n, expiry });
    assert.equal((await post(app, "/v1/orders", gtt)).status, 200);
    assert.equal((await post(app, "/v1/orders", order(alice, { orderId: 1n, side: Side.BUY, priceTicks: 100n, sizeLots: 4n }))).status, 200);
    const open = (await get(app, "/v1/accounts/2/orders/1")).body.order;
    assert.deepEqual([open.status, open.filledLots, open.remainingLots, open.cancelReason], ["open", "4", "6", null]);
    now = expiry; // still live at its expiry second
    assert.equal((await get(app, "/v1/accounts/2/orders/1")).body.order.status, "open");

    // past its expiry, no record yet: every read answers it expired (and changes nothing)
    now = expiry + 1;
    const { signature: _s, ...fields } = wire(gtt);
    const expired = { ...fields, status: "cancelled", filledLots: "4", remainingLots: "0", cancelReason: "expired" };
    const streamedBefore = streamed.length;
    assert.deepEqual((await get(app, "/v1/accounts/2/orders/1")).body, { order: expired });
    assert.deepEqual((await get(app, "/v1/accounts/2/orders")).body.orders, [expired]);
    assert.deepEqual((await get(app, "/v1/accounts/2/orders?status=open")).body.orders, [], "not open any more");
    assert.deepEqual((await get(app, "/v1/accounts/2/orders?status=cancelled")).body.orders, [expired]);
    assert.deepEqual((await get(app, "/v1/accounts/2")).body.openOrders, []);
    assert.deepEqual((await get(app, "/v1/markets/0/book")).body.asks, []);
    assert.equal(s.engine.order(bob.accountId, 1n)?.remainingLots, 6n, "still resting: the reads swept nothing");
    assert.equal(streamed.length, streamedBefore, "nothing streamed: no record arrived");

    // the next record, bob's own cancel of it, sweeps it first (so the cancel finds no order); the stream's message is
    // the record the reads answered, and they stay
    const cancel = await post(app, "/v1/cancels", signCancel(bob.key, { accountId: bob.accountId, orderId: 1n }));
    assert.deepEqual([cancel.status, cancel.body.code], [422, "UNKNOWN_ORDER"]);
    assert.equal(s.engine.order(bob.accountId, 1n), undefined, "swept");
    await new Promise((r) => setImmediate(r)); // the stream's messages wait for the record to be durable
    const swept = streamed.slice(streamedBefore).filter((o) => o.accountId === bob.accountId && o.orderId === 1n);
    assert.deepEqual(swept.map(wire), [expired], "the sweep's one order message: the same state, not a second one");
    assert.deepEqual((await get(app, "/v1/accounts/2/orders/1")).body, { order: expired });
    assert.deepEqual((await get(app, "/v1/accounts/2/orders")).body.orders, [expired]);
  });
});
