/**
 * Network API: happy paths for orders, cancels and withdrawals; every bad request gets a clear code and
 * changes nothing; book/account queries; the market stream (real ws client on a loopback port).
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { Side, TimeInForce } from "../../../sequencer/protocol/constants.ts";
import { signCancel, signWithdrawal } from "../../../sequencer/sdk/signing.ts";
import { createApiServer } from "../../../sequencer/api/server.ts";
import { toJson } from "../../../sequencer/api/schemas.ts";
import { order, testTrader } from "../../helpers/traders.ts";
import { alice, bob, offlineSequencer } from "../../helpers/sequencer.ts";


const sequencer = offlineSequencer;

function setup() {
  const s = sequencer();
  const app = createApiServer(s);
  after(() => app.close());
  return { s, app };
}

/** A request body as a client sends it: bigints as decimal strings. */
const wire = (x: unknown) => JSON.parse(toJson(x)) as Record<string, unknown>;

async function post(app: ReturnType<typeof createApiServer>, url: string, body: unknown) {
  const res = await app.inject({ method: "POST", url, payload: typeof body === "string" ? body : toJson(body), headers: { "content-type": "application/json" } });
  return { status: res.statusCode, body: res.json() as Record<string, any> };
}

async function get(app: ReturnType<typeof createApiServer>, url: string) {
  const res = await app.inject({ method: "GET", url });
  return { status: res.statusCode, body: res.json() as Record<string, any> };
}

describe("api: writes", () => {
  it("places, cancels and withdraws", async () => {
    const { s, app } = setup();
    const n0 = s.pendingTransactions;
    const placed = await post(app, "/v1/orders", order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n, sizeLots: 10n }));
    assert.equal(placed.status, 200);
    assert.equal(placed.body.events[0].type, "accepted");
    assert.equal(placed.body.events[0].orderId, "1");

    const filled = await post(app, "/v1/orders", order(alice, { orderId: 1n, side: Side.BUY, priceTicks: 100n, sizeLots: 4n }));
    assert.equal(filled.status, 200);
    const fill = filled.body.events.find((e: { type: string }) => e.type === "fill");
    assert.deepEqual([fill.lots, fill.priceTicks, fill.makerAccount], ["4", "90", 2]);
    assert.equal(s.pendingTransactions, n0 + 1, "one trade queued");

    const cancelled = await post(app, "/v1/cancels", signCancel(bob.key, { accountId: 2, orderId: 1n }));
    assert.equal(cancelled.status, 200);
    assert.ok(cancelled.body.events.some((e: { type: string; remainingLots: string }) => e.type === "cancelled" && e.remainingLots === "6"));
    assert.equal(s.pendingTransactions, n0 + 2);

    const w = await post(app, "/v1/withdrawals", signWithdrawal(bob.key, { accountId: 2, tokenId: 0, amount: 1n, nonce: 0 }));
    assert.equal(w.status, 200, JSON.stringify(w.body));
    assert.equal(w.body.status, "accepted");
    assert.equal(s.pendingTransactions, n0 + 3);
    assert.deepEqual(s.engine.depth(0), { bids: [], asks: [] });
  });

  it("refuses bad requests with a clear code and changes nothing", async () => {
    const { s, app } = setup();
    const resting = await post(app, "/v1/orders", order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n, sizeLots: 10n }));
    assert.equal(resting.status, 200);
    const n = s.pendingTransactions;
    const book = s.engine.depth(0);
    const good = wire(order(alice, { orderId: 2n, side: Side.BUY, priceTicks: 100n, sizeLots: 1n }));

    const cases: [string, string | Record<string, unknown>, number, string][] = [
      ["unsigned", { ...good, signature: undefined }, 400, "UNSIGNED"],
      ["mis-signed", { ...good, signature: wire(order(bob, { orderId: 2n, side: Side.BUY })).signature }, 400, "BAD_SIGNATURE"],
      ["tampered", { ...good, sizeLots: "2" }, 400, "BAD_SIGNATURE"],
      ["no key", wire(order(testTrader(3), { orderId: 1n, side: Side.BUY })), 400, "NO_TRADING_KEY"],
      ["price >= 2^40", { ...good, priceTicks: (1n << 40n).toString() }, 400, "MALFORMED"],
      ["bigint as number", { ...good, priceTicks: 100 }, 400, "MALFORMED"],
      ["negative", { ...good, sizeLots: "-1" }, 400, "MALFORMED"],
      ["unknown key", { ...good, extra: 1 }, 400, "MALFORMED"],
      ["bad side", { ...good, side: 2 }, 400, "MALFORMED"],
      ["not json", "{\"accountId\": ", 400, "MALFORMED"],
      ["reused id", wire(order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n })), 400, "ORDER_ID_REUSED"],
      ["oversize", { ...good, pad: "x".repeat(20_000) }, 413, "BODY_TOO_LARGE"],
      ["post-only cross", wire(order(alice, { orderId: 3n, side: Side.BUY, priceTicks: 100n, timeInForce: TimeInForce.POST_ONLY })), 422, "WOULD_CROSS"],
      ["risk", wire(order(alice, { orderId: 4n, side: Side.BUY, priceTicks: 1n << 30n, sizeLots: 10n })), 422, "RISK_REJECTED"],
    ];
    for (const [name, body, status, code] of cases) {
      const r = await post(app, "/v1/orders", typeof body === "string" ? body : JSON.stringify(body));
      assert.equal(r.status, status, `${name}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.code, code, name);
      assert.equal(typeof r.body.message, "string", name);
    }
    const text = await app.inject({ method: "POST", url: "/v1/orders", payload: "hello", headers: { "content-type": "text/plain" } });
    assert.deepEqual([text.statusCode, text.json().code], [415, "UNSUPPORTED_MEDIA_TYPE"]);
    const range = await post(app, "/v1/orders", { ...good, priceTicks: (1n << 40n).toString() });
    assert.deepEqual(range.body.issues[0].path, ["priceTicks"]);

    const badCancel = await post(app, "/v1/cancels", signCancel(alice.key, { accountId: 2, orderId: 1n }));
    assert.deepEqual([badCancel.status, badCancel.body.code], [400, "BAD_SIGNATURE"]);
    const unknownCancel = await post(app, "/v1/cancels", signCancel(bob.key, { accountId: 2, orderId: 9n }));
    assert.deepEqual([unknownCancel.status, unknownCancel.body.code], [422, "UNKNOWN_ORDER"]);
    const badNonce = await post(app, "/v1/withdrawals", signWithdrawal(alice.key, { accountId: 1, tokenId: 0, amount: 1n, nonce: 5 }));
    assert.deepEqual([badNonce.status, badNonce.body.code], [400, "BAD_NONCE"]);
    const tooMuch = await post(app, "/v1/withdrawals", signWithdrawal(alice.key, { accountId: 1, tokenId: 0, amount: 10_000_001n, nonce: 0 }));
    assert.deepEqual([tooMuch.status, tooMuch.body.code], [400, "INSUFFICIENT_BALANCE"]);
    const amountRange = await post(app, "/v1/withdrawals", { ...wire(signWithdrawal(alice.key, { accountId: 1, tokenId: 0, amount: 1n, nonce: 0 })), amount: (1n << 96n).toString() });
    assert.deepEqual([amountRange.status, amountRange.body.code], [400, "MALFORMED"]);

    assert.equal(s.pendingTransactions, n, "nothing queued");
    assert.deepEqual(s.engine.depth(0), book, "book unchanged");
    assert.equal(s.risk.reserved(1, 0), 0n);
    const health = await get(app, "/v1/health");
    assert.deepEqual(health.body, { status: "ok", pendingTransactions: n, prover: null });
  });
});

describe("api: reads", () => {
  it("serves markets, book, account and order", async () => {
    const { app } = setup();
    await post(app, "/v1/orders", order(alice, { orderId: 7n, side: Side.BUY, priceTicks: 50n, sizeLots: 3n }));
    await post(app, "/v1/orders", order(alice, { orderId: 8n, side: Side.BUY, priceTicks: 50n, sizeLots: 2n }));
    await post(app, "/v1/orders", order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 60n, sizeLots: 4n }));

    const markets = await get(app, "/v1/markets");
    assert.equal(markets.status, 200);
    assert.deepEqual(markets.body.markets[0], { marketId: 0, baseTokenId: 1, sizeUnit: "1000", priceUnit: "10", makerFeePpm: 100, takerFeePpm: 500 });

    const book = await get(app, "/v1/markets/0/book?levels=5");
    assert.equal(book.status, 200);
    assert.deepEqual(book.body, { marketId: 0, bids: [{ priceTicks: "50", lots: "5", orders: 2 }], asks: [{ priceTicks: "60", lots: "4", orders: 1 }] });
    assert.equal((await get(app, "/v1/markets/9/book")).body.code, "UNKNOWN_MARKET");
    assert.equal((await get(app, "/v1/markets/0/book?levels=0")).body.code, "MALFORMED");
    assert.equal((await get(app, "/v1/markets/0/book?levels=1000")).body.code, "MALFORMED");
    assert.equal((await get(app, "/v1/markets/x/book")).body.code, "MALFORMED");

    const acct = await get(app, "/v1/accounts/1");
    assert.equal(acct.status, 200);
    const quote = acct.body.balances.find((b: { tokenId: number }) => b.tokenId === 0);
    assert.equal(quote.balance, "10000000");
    assert.equal(BigInt(quote.reserved) > 0n, true);
    assert.equal(BigInt(quote.available) + BigInt(quote.reserved), 10_000_000n);
    assert.deepEqual(acct.body.openOrders.map((o: { orderId: string }) => o.orderId), ["7", "8"]);

    const o = await get(app, "/v1/accounts/1/orders/7");
    assert.equal(o.status, 200);
    assert.deepEqual([o.body.order.orderId, o.body.order.remainingLots, o.body.order.filledLots], ["7", "3", "0"]);
    const missing = await get(app, "/v1/accounts/1/orders/99");
    assert.deepEqual([missing.status, missing.body.code], [404, "UNKNOWN_ORDER"]);
    assert.equal((await get(app, "/v1/accounts/99999999999/orders/1")).body.code, "MALFORMED");
    assert.equal((await get(app, "/v1/nope")).body.code, "NOT_FOUND");
  });
});

describe("api: stream", () => {
  it("sends a book snapshot on subscribe, then trades and book updates with gapless sequence numbers", async () => {
    const { app } = setup();
    await post(app, "/v1/orders", order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n, sizeLots: 10n }));
    const address = await app.listen({ host: "127.0.0.1", port: 0 });
    const ws = new WebSocket(`${address.replace("http", "ws")}/v1/stream`);
    const messages: Record<string, any>[] = [];
    const waiters: (() => void)[] = [];
    ws.on("message", (d) => {
      messages.push(JSON.parse(d.toString()));
      waiters.splice(0).forEach((w) => w());
    });
    const waitFor = async (count: number) => {
      while (messages.length < count) await new Promise<void>((r) => waiters.push(r));
    };
    await new Promise((r, j) => { ws.once("open", r); ws.once("error", j); });
    try {
      ws.send(JSON.stringify({ op: "subscribe", marketId: 0, levels: 5 }));
      await waitFor(2);
      assert.equal(messages[0].type, "subscribed");
      assert.deepEqual(messages[1], { type: "book", seq: 2, marketId: 0, snapshot: true, bids: [], asks: [{ priceTicks: "90", lots: "10", orders: 1 }] });

      const r = await post(app, "/v1/orders", order(alice, { orderId: 1n, side: Side.BUY, priceTicks: 100n, sizeLots: 4n }));
      assert.equal(r.status, 200);
      await waitFor(4);
      assert.deepEqual(messages[2], {
        type: "trade", seq: 3, marketId: 0, priceTicks: "90", lots: "4", makerSide: Side.SELL,
        makerAccount: 2, makerOrderId: "1", takerAccount: 1, takerOrderId: "1",
      });
      assert.deepEqual(messages[3], { type: "book", seq: 4, marketId: 0, snapshot: false, bids: [], asks: [{ priceTicks: "90", lots: "6", orders: 1 }] });

      ws.send("not json");
      ws.send(JSON.stringify({ op: "subscribe", marketId: 7 }));
      await waitFor(6);
      assert.deepEqual([messages[4].code, messages[5].code], ["MALFORMED", "UNKNOWN_MARKET"]);
      assert.deepEqual(messages.map((m) => m.seq), [1, 2, 3, 4, 5, 6]);

      ws.send(JSON.stringify({ op: "unsubscribe", marketId: 0 }));
      await waitFor(7);
      assert.deepEqual(messages[6], { type: "unsubscribed", seq: 7, marketId: 0 });
      await post(app, "/v1/orders", order(alice, { orderId: 2n, side: Side.BUY, priceTicks: 100n, sizeLots: 1n }));
      ws.send(JSON.stringify({ op: "subscribe", marketId: 0, levels: 1 }));
      await waitFor(9);
      assert.deepEqual(messages.slice(7).map((m) => [m.type, m.seq]), [["subscribed", 8], ["book", 9]], "no trade after unsubscribing");
    } finally {
      ws.close();
    }
  });
});
