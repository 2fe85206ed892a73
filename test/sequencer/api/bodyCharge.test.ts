/**
 * A request's body is charged to its source's bucket before it is parsed (review of 2026-12-06, Low: "Malformed bodies
 * are parsed before their source is charged"). Before, the source paid only once the body had parsed and passed its
 * shape check, so a client could have the server read, JSON-parse and shape-check any number of malformed bodies (up
 * to 128 KiB each over HTTP, 16 KiB over the WebSocket) for nothing. Now an HTTP write pays a token on arrival (an
 * empty bucket: 429 before its body is read) and a token per started 2 KiB of its body before the body is parsed;
 * a WebSocket message pays its size before it is parsed. What the command costs (a batch: its items) is charged beyond
 * that, so a well-formed request costs what it did.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { BODY_BYTES_PER_TOKEN, bodyCost, type RateLimits } from "../../../sequencer/api/commands.ts";
import { createApiServer } from "../../../sequencer/api/server.ts";
import { Side } from "../../../sequencer/protocol/constants.ts";
import { toJson } from "../../../sequencer/wire/schemas.ts";
import { post, postBinary } from "../../helpers/apiInject.ts";
import { alice, bob, offlineSequencer } from "../../helpers/sequencer.ts";
import { order } from "../../helpers/traders.ts";
import { StreamClient } from "../../../sequencer/sdk/streamClient.ts";

/** A server whose source bucket holds `burst` tokens and (for the test's length) gets none back. */
function setup(burst: number) {
  const s = offlineSequencer();
  const rateLimits: RateLimits = { perAccount: null, perSource: { perSecond: 0.001, burst } };
  const app = createApiServer(s, { rateLimits });
  after(() => app.close());
  return { s, app };
}

/** What a test can see change: the book, the open orders, the transactions waiting for a batch. */
const stateOf = (s: ReturnType<typeof offlineSequencer>) => JSON.stringify([s.engine.depth(0), s.engine.openOrders(1), s.engine.openOrders(2), s.pendingTransactions], (_, v) => (typeof v === "bigint" ? `${v}` : v));

describe("api: a body is charged before it is parsed", () => {
  it("bodyCost: a token per started 2 KiB, at least one", () => {
    assert.deepEqual([0, 1, BODY_BYTES_PER_TOKEN, BODY_BYTES_PER_TOKEN + 1, 16 * 1024, 128 * 1024].map(bodyCost), [1, 1, 1, 2, 8, 64]);
  });

  it("HTTP: malformed bodies spend the source's tokens; once spent, the next body is refused 429 unparsed and a valid order changes nothing", async () => {
    const { s, app } = setup(4);
    const before = stateOf(s);
    // Four malformed requests: unparsable JSON, a wrong shape, a bad binary record, a request without a body.
    assert.deepEqual((await post(app, "/v1/orders", "{")).body.code, "MALFORMED");
    assert.deepEqual((await post(app, "/v1/cancels", { accountId: "x" })).body.code, "MALFORMED");
    assert.deepEqual((await postBinary(app, "/v1/orders/batch", new Uint8Array(137))).body.code, "MALFORMED");
    assert.equal((await app.inject({ method: "POST", url: "/v1/withdrawals" })).json().code, "MALFORMED");
    // The bucket is empty: unparsable JSON is now refused 429 (parsed, it would be 400 MALFORMED), before it is read.
    const refused = await post(app, "/v1/orders", "{");
    assert.deepEqual([refused.status, refused.body.code], [429, "RATE_LIMITED"], "a malformed body is no longer parsed for free");
    const valid = await post(app, "/v1/orders", order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n }));
    assert.deepEqual([valid.status, valid.body.code], [429, "RATE_LIMITED"]);
    assert.equal(stateOf(s), before, "nothing changed");
  });

  it("HTTP: a large body costs a token per started 2 KiB before it is parsed; a well-formed request costs what it did", async () => {
    const { s, app } = setup(2 * bodyCost(15 * 1024) + 3);
    const big = toJson({ pad: "x".repeat(15 * 1024) }); // under the 16 KiB limit, 8 tokens
    assert.equal((await post(app, "/v1/orders", big)).body.code, "MALFORMED");
    assert.equal((await post(app, "/v1/orders", big)).body.code, "MALFORMED");
    // 3 tokens left: a batch of 3 orders (a small body) costs its 3 items, no more.
    const batch = await post(app, "/v1/orders/batch", { orders: [1n, 2n, 3n].map((orderId) => order(alice, { orderId, side: Side.BUY, priceTicks: 10n, sizeLots: 1n })) });
    assert.deepEqual(batch.body.results.map((r: { status: number }) => r.status), [200, 200, 200]);
    const before = stateOf(s);
    const refused = await post(app, "/v1/orders", big);
    assert.deepEqual([refused.status, refused.body.code], [429, "RATE_LIMITED"]);
    assert.deepEqual((await post(app, "/v1/orders", order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n }))).status, 429);
    assert.equal(stateOf(s), before, "nothing changed");
    // Over the body limit: 413 as before, the body not read.
    assert.deepEqual((await setup(100).app.inject({ method: "POST", url: "/v1/orders", payload: toJson({ pad: "x".repeat(20_000) }), headers: { "content-type": "application/json" } })).statusCode, 413);
  });

  it("WebSocket: malformed messages spend the source's tokens; once spent, the next message is refused RATE_LIMITED unparsed and a valid order changes nothing", async () => {
    const { s, app } = setup(4 + bodyCost(15 * 1024));
    const address = await app.listen({ host: "127.0.0.1", port: 0 });
    const ws = new WebSocket(`${address.replace("http", "ws")}/v1/stream`);
    after(() => ws.close());
    const messages: Record<string, unknown>[] = [];
    let wake = () => {};
    ws.on("message", (d) => (messages.push(JSON.parse(d.toString())), wake()));
    const next = async (n: number) => {
      while (messages.length < n) await new Promise<void>((r) => (wake = r));
      return messages[n - 1]!;
    };
    await next(1); // hello
    const before = stateOf(s);
    ws.send("{");
    ws.send(toJson({ op: "order", id: 1 }));
    ws.send(toJson({ op: "nope", pad: "x".repeat(15 * 1024) })); // 8 tokens
    ws.send(Buffer.from([1, 0, 0, 0, 0, 9])); // a binary frame that is no whole record
    ws.send(toJson({ op: "cancel", id: 2, cancel: { accountId: 2 } }));
    const answers = [];
    for (let i = 2; i <= 6; i++) answers.push([(await next(i)).code, messages[i - 1]!.ref as number]);
    // each answers its message by number (ref); the order's refusal (its shape is checked where it runs) comes last
    assert.deepEqual(answers.sort((a, b) => (a[1] as number) - (b[1] as number)), [1, 2, 3, 4, 5].map((ref) => ["MALFORMED", ref]));
    ws.send("{");
    const refused = await next(7);
    assert.deepEqual([refused.type, refused.code, refused.status], ["error", "RATE_LIMITED", 429], "a malformed message is no longer parsed for free");
    ws.send(toJson({ op: "order", id: 3, order: order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n }) }));
    const limited = await next(8);
    assert.deepEqual([limited.code, limited.status, limited.ref, limited.id], ["RATE_LIMITED", 429, 7, undefined], "refused before its id is read: answered by its number");
    assert.equal(stateOf(s), before, "nothing changed");
  });

  it("WebSocket, SDK: an order refused by an empty bucket rejects its promise RATE_LIMITED (matched by ref; it hung before, review of 2026-12-06), and a waiting subscription is not taken for it", async () => {
    const { s, app } = setup(2); // two orders
    const address = await app.listen({ host: "127.0.0.1", port: 0 });
    const c = await StreamClient.connect(`${address.replace("http", "ws")}/v1/stream`);
    after(() => c.close());
    await c.placeOrder(order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n }));
    await c.placeOrder(order(bob, { orderId: 2n, side: Side.SELL, priceTicks: 91n }));
    const before = stateOf(s);
    const third = c.placeOrder(order(alice, { orderId: 3n, side: Side.BUY, priceTicks: 10n }));
    const subscription = c.subscribeMarket(0);
    const outcome = await Promise.race([
      third.then(() => "resolved", (e: { code?: string }) => `rejected ${e.code}`),
      new Promise((r) => setTimeout(() => r("still pending after 2 s"), 2000)),
    ]);
    assert.equal(outcome, "rejected RATE_LIMITED");
    await assert.rejects(subscription, (e: { code?: string }) => e.code === "RATE_LIMITED", "the subscription's own refusal, not the order's");
    assert.equal(stateOf(s), before, "nothing changed");
  });
});
