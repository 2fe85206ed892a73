/**
 * Network API over HTTP: happy paths for orders, batches, cancels (cancel-all) and withdrawals; every bad
 * request gets a clear code and changes nothing (malformed, unsigned, mis-signed, replayed, out of range,
 * oversized, rate-limited); book, account, key, order history, fills and batch queries. The WebSocket is
 * in stream.test.ts.
 */
import { messageSigner } from "../../../sequencer/crypto/nativeSigning.ts";
import { cancelMessage, orderMessage } from "../../../sequencer/protocol/messages.ts";
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Side, TimeInForce } from "../../../sequencer/protocol/constants.ts";
import { signCancel, signWithdrawal } from "../../../sequencer/protocol/signing.ts";
import { createApiServer } from "../../../sequencer/api/server.ts";
import { get, post, postBinary, wire } from "../../helpers/apiInject.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { ExchangeState } from "../../../sequencer/state/exchangeState.ts";
import type { VerifiedProver } from "../../../fpga-prover/prover.ts";
import { countingProver, FakeCustodian } from "../../helpers/fakeCustodian.ts";
import { encodeOrderRecords, ORDER_RECORD_BYTES } from "../../../sequencer/protocol/orderRecords.ts";
import { order, testTrader } from "../../helpers/traders.ts";
import { alice, bob, offlineSequencer } from "../../helpers/sequencer.ts";


const sequencer = offlineSequencer;

function setup(opts: Parameters<typeof createApiServer>[1] = {}) {
  const s = sequencer();
  const app = createApiServer(s, opts);
  after(() => app.close());
  return { s, app };
}





describe("api: writes", () => {
  // Review of 2026-12-06: without a limit the route answered every order the index kept (about 900 KB for a market
  // maker's 4,000), for anyone.
  it("GET /v1/accounts/:id/orders answers the newest 100 without a limit, up to 1,000 with one", async () => {
    const { app } = setup();
    // 120 orders placed and cancelled, 15 at a time (an account has 16 order slots at TEST_PARAMS), signed natively
    const signer = messageSigner(alice.key);
    const template = order(alice, { orderId: 1n, side: Side.BUY, priceTicks: 1n, sizeLots: 1n });
    for (let first = 1n; first <= 120n; first += 15n) {
      const ids = Array.from({ length: 15 }, (_, i) => first + BigInt(i));
      const orders = ids.map((orderId) => ({ ...template, orderId, signature: signer.sign(orderMessage({ ...template, orderId })) }));
      const placed = await post(app, "/v1/orders/batch", { orders });
      assert.ok(placed.body.results.every((r: { status: number }) => r.status === 200), JSON.stringify(placed.body));
      const cancels = ids.map((orderId) => ({ accountId: 1, orderId, signature: signer.sign(cancelMessage({ accountId: 1, orderId })) }));
      const cancelled = await post(app, "/v1/cancels/batch", { cancels });
      assert.ok(cancelled.body.results.every((r: { status: number }) => r.status === 200), JSON.stringify(cancelled.body));
    }
    const ids = (path: string) => get(app, path).then((r) => r.body.orders.map((o: { orderId: string }) => Number(o.orderId)));
    const newest = await ids("/v1/accounts/1/orders");
    assert.deepEqual([newest.length, newest[0], newest.at(-1)], [100, 120, 21]);
    assert.equal((await ids("/v1/accounts/1/orders?limit=1000")).length, 120);
  });

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
      ["IOC expiring in a year", wire(order(alice, { orderId: 5n, side: Side.BUY, priceTicks: 100n, sizeLots: 1n, timeInForce: TimeInForce.IOC, expiry: Math.floor(Date.now() / 1000) + 365 * 86_400 })), 400, "IMMEDIATE_EXPIRY_TOO_FAR"],
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
    const zero = await post(app, "/v1/withdrawals", signWithdrawal(alice.key, { accountId: 1, tokenId: 0, amount: 0n, nonce: 0 }));
    assert.deepEqual([zero.status, zero.body.code], [400, "BAD_AMOUNT"], "a zero withdrawal would halt every later batch");
    const freeOrder = await post(app, "/v1/orders", order(alice, { orderId: 3n, side: Side.BUY, priceTicks: 10n, maxFeePpm: 0 }));
    assert.deepEqual([freeOrder.status, freeOrder.body.code], [422, "MAX_FEE_TOO_LOW"], "an order signed with maxFeePpm 0 would trade free");

    assert.equal(s.pendingTransactions, n, "nothing queued");
    assert.deepEqual(s.engine.depth(0), book, "book unchanged");
    assert.equal(s.risk.reserved(1, 0), 0n);
    const health = await get(app, "/v1/health");
    assert.deepEqual({ ...health.body, time: 0 }, { status: "ok", time: 0, pendingTransactions: n, prover: null });
    assert.ok(Math.abs(health.body.time - s.now()) <= 1, "time: the sequencer's clock");
  });
});

describe("api: hostile shapes (wire fuzz of 2026-12-07)", () => {
  it("answers a field nested thousands deep 400 MALFORMED with the documented shape, without echoing it, and changes nothing", async () => {
    const { s, app } = setup();
    const n = s.pendingTransactions;
    const deep = "[".repeat(5000) + "]".repeat(5000);
    const good = JSON.stringify(wire(order(alice, { orderId: 1n, side: Side.BUY })));
    for (const [url, body] of [["/v1/orders", good.replace(/"side":0/, `"side":${deep}`)], ["/v1/orders/batch", `{"orders":[${good},${good.replace(/"side":0/, `"side":${deep}`)}]}`]]) {
      const r = await post(app, url!, body!);
      assert.deepEqual([r.status, r.body.code], [400, "MALFORMED"], `${url}: ${JSON.stringify(r.body).slice(0, 200)}`);
      assert.equal(typeof r.body.message, "string");
      assert.deepEqual(r.body.issues[0].path.at(-1), "side");
      assert.ok(JSON.stringify(r.body).length < 1000, "the value is not echoed");
    }
    assert.equal(s.pendingTransactions, n, "nothing queued");
    assert.equal(s.engine.openOrders(1).length, 0);
  });

  it("answers a path parameter over 100 characters or one that does not URL-decode 400 MALFORMED, as any malformed path (Fastify answered 414 / 400 with its own codes)", async () => {
    const { app } = setup();
    for (const url of [`/v1/accounts/${"9".repeat(101)}`, `/v1/markets/${"1".repeat(200)}/book`, "/v1/accounts/%ff", "/v1/accounts/1/orders/%", "/v1/batches/%E0%A4%A"]) {
      const r = await get(app, url);
      assert.deepEqual([r.status, r.body.code], [400, "MALFORMED"], `${url}: ${JSON.stringify(r.body).slice(0, 200)}`);
      assert.equal(typeof r.body.message, "string");
    }
    assert.equal((await get(app, "/v1/accounts/1")).status, 200, "still serving");
  });
});

describe("api: health", () => {
  it("answers 503 failing while batch attempts fail, and ok again once a batch is posted", async () => {
    const chain = new FakeCustodian(new ExchangeState(TEST_PARAMS).root);
    const good = countingProver();
    let broken = true;
    const prover = {
      prove: (...args: Parameters<VerifiedProver["prove"]>) => (broken ? Promise.reject(new Error("device lost")) : good.prove(...args)),
    } as VerifiedProver;
    const s = offlineSequencer({ chain: chain.context(), prover });
    const app = createApiServer(s);
    after(() => app.close());
    assert.equal((await get(app, "/v1/health")).status, 200);
    await assert.rejects(s.runBatch(), /device lost/);
    await assert.rejects(s.runBatch(), /device lost/);
    const failing = await get(app, "/v1/health");
    assert.equal(failing.status, 503);
    assert.equal(failing.body.status, "failing");
    assert.match(failing.body.problems[0], /the last 2 batch attempt\(s\) failed: device lost/);
    assert.equal(failing.body.batches.consecutiveFailures, 2);
    broken = false;
    await s.runBatch();
    const ok = await get(app, "/v1/health");
    assert.deepEqual([ok.status, ok.body.status], [200, "ok"]);
  });

  it("answers 503 failing when no prover device is healthy", async () => {
    const devices = [{ id: "native#0", unhealthy: true }, { id: "snarkjs#1", unhealthy: true }];
    const prover = { prove: () => Promise.reject(new Error("unused")), metrics: () => ({ devices }) } as unknown as VerifiedProver;
    const app = createApiServer(offlineSequencer({ prover }));
    after(() => app.close());
    const h = await get(app, "/v1/health");
    assert.deepEqual([h.status, h.body.status, h.body.problems], [503, "failing", ["no prover device is healthy"]]);
    devices[1]!.unhealthy = false;
    assert.equal((await get(app, "/v1/health")).status, 200);
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

describe("api: market trades", () => {
  it("lists a market's trades newest first, pages back with before, bounds limit and refuses bad queries with a clear 400", async () => {
    const { app } = setup({ maxTradesPerMarket: 2 });
    assert.deepEqual((await get(app, "/v1/markets/0/trades")).body, { marketId: 0, trades: [] });
    await post(app, "/v1/orders", order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n, sizeLots: 4n }));
    await post(app, "/v1/orders", order(bob, { orderId: 2n, side: Side.SELL, priceTicks: 95n, sizeLots: 4n }));
    await post(app, "/v1/orders", order(alice, { orderId: 1n, side: Side.BUY, priceTicks: 100n, sizeLots: 6n })); // trades 1 (90 x 4) and 2 (95 x 2)
    const { status, body } = await get(app, "/v1/markets/0/trades");
    assert.equal(status, 200);
    assert.deepEqual(body.trades.map((t: Record<string, unknown>) => [t.tradeId, t.marketId, t.priceTicks, t.lots, t.makerSide]), [
      [2, 0, "95", "2", Side.SELL],
      [1, 0, "90", "4", Side.SELL],
    ]);
    assert.ok(body.trades.every((t: { time: number }) => Math.abs(t.time - Date.now() / 1000) < 60));
    // the trade ids are the fill ids of both accounts' fills
    assert.deepEqual((await get(app, "/v1/accounts/2/fills")).body.fills.map((f: { fillId: number }) => f.fillId), [2, 1]);
    assert.deepEqual((await get(app, "/v1/markets/0/trades?limit=1")).body.trades.map((t: { tradeId: number }) => t.tradeId), [2]);
    assert.deepEqual((await get(app, "/v1/markets/0/trades?limit=5&before=2")).body.trades.map((t: { tradeId: number }) => t.tradeId), [1]);
    assert.deepEqual((await get(app, "/v1/markets/0/trades?before=1")).body.trades, []);
    // bounded: the newest maxTradesPerMarket (here 2) are kept once twice that have been seen
    await post(app, "/v1/orders", order(alice, { orderId: 2n, side: Side.BUY, priceTicks: 95n, sizeLots: 1n })); // 3
    await post(app, "/v1/orders", order(bob, { orderId: 3n, side: Side.SELL, priceTicks: 96n, sizeLots: 3n }));
    await post(app, "/v1/orders", order(alice, { orderId: 3n, side: Side.BUY, priceTicks: 96n, sizeLots: 1n })); // 4
    await post(app, "/v1/orders", order(alice, { orderId: 4n, side: Side.BUY, priceTicks: 96n, sizeLots: 1n })); // 5
    assert.deepEqual((await get(app, "/v1/markets/0/trades?limit=1000")).body.trades.map((t: { tradeId: number }) => t.tradeId), [5, 4]);

    const refused: [string, number, string, RegExp][] = [
      ["/v1/markets/0/trades?limit=0", 400, "MALFORMED", /^trades query: limit: limit must be a positive integer$/],
      ["/v1/markets/0/trades?limit=1001", 400, "MALFORMED", /^trades query: limit: limit must be at most 1000$/],
      ["/v1/markets/0/trades?before=-1", 400, "MALFORMED", /^trades query: before: /],
      ["/v1/markets/0/trades?since=3", 400, "MALFORMED", /^trades query: /],
      ["/v1/markets/x/trades", 400, "MALFORMED", /^market id: /],
      ["/v1/markets/9/trades", 404, "UNKNOWN_MARKET", /^market 9 is not registered$/],
    ];
    for (const [url, code, name, message] of refused) {
      const r = await get(app, url);
      assert.deepEqual([r.status, r.body.code], [code, name], url);
      assert.match(r.body.message, message, url);
    }
    assert.deepEqual((await get(app, "/v1/markets/0/trades")).body.trades.map((t: { tradeId: number }) => t.tradeId), [5, 4], "a refused query changed nothing");
  });
});

describe("api: batches and cancel-all", () => {
  it("places a batch of orders with one result each, and cancels all of an account's orders with one signed cancel per order", async () => {
    const { s, app } = setup();
    const batch = await post(app, "/v1/orders/batch", {
      orders: [
        order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n, sizeLots: 5n }),
        order(bob, { orderId: 2n, side: Side.SELL, priceTicks: 95n, sizeLots: 5n }),
        order(bob, { orderId: 2n, side: Side.SELL, priceTicks: 95n, sizeLots: 5n }),
        order(alice, { orderId: 1n, side: Side.BUY, priceTicks: 1n << 30n, sizeLots: 10n }),
      ],
    });
    assert.equal(batch.status, 200);
    assert.deepEqual(batch.body.results.map((r: { status: number; code?: string }) => [r.status, r.code]), [
      [200, undefined], [200, undefined], [400, "ORDER_ID_REUSED"], [422, "RISK_REJECTED"],
    ]);
    assert.equal(s.engine.openOrders(2).length, 2);
    assert.equal(app.api.intake.groups, 1, "the batch went to the sequencer as one group");

    const n = s.pendingTransactions;
    const all = await post(app, "/v1/cancels/batch", { cancels: [signCancel(bob.key, { accountId: 2, orderId: 1n }), signCancel(bob.key, { accountId: 2, orderId: 2n })] });
    assert.equal(all.status, 200);
    assert.deepEqual(all.body.results.map((r: { status: number }) => r.status), [200, 200]);
    assert.equal(s.engine.openOrders(2).length, 0);
    assert.equal(s.pendingTransactions, n + 2, "one proven cancel per order");

    const replay = await post(app, "/v1/cancels/batch", { cancels: [signCancel(bob.key, { accountId: 2, orderId: 1n })] });
    assert.deepEqual([replay.body.results[0].status, replay.body.results[0].code], [422, "UNKNOWN_ORDER"], "a replayed cancel changes nothing");
    assert.equal(s.pendingTransactions, n + 2);
  });

  it("refuses a malformed or oversized batch whole", async () => {
    const { s, app } = setup();
    const good = wire(order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n }));
    const n = s.pendingTransactions;
    const cases: [string, unknown, number, string][] = [
      ["empty", { orders: [] }, 400, "MALFORMED"],
      ["one bad item", { orders: [good, { ...good, orderId: "x" }] }, 400, "MALFORMED"],
      ["unsigned item", { orders: [good, { ...good, signature: undefined }] }, 400, "UNSIGNED"],
      ["over 100 items", { orders: Array(101).fill(good) }, 400, "MALFORMED"],
      ["over the body limit", { orders: [good], pad: "x".repeat(200_000) }, 413, "BODY_TOO_LARGE"],
    ];
    for (const [name, body, status, code] of cases) {
      const r = await post(app, "/v1/orders/batch", JSON.stringify(body));
      assert.deepEqual([r.status, r.body.code], [status, code], name);
    }
    // tens of thousands of junk items (the 128 KiB batch body): refused at the count, before any item is parsed
    // (one issue, not eleven per item), with a short answer
    for (const [route, key] of [["/v1/orders/batch", "orders"], ["/v1/cancels/batch", "cancels"]] as const) {
      const r = await post(app, route, `{"${key}":[${Array(40_000).fill("{}").join(",")}]}`);
      assert.deepEqual([r.status, r.body.code], [400, "MALFORMED"], route);
      assert.match(r.body.message, /at most 100/);
      assert.equal(r.body.issues.length, 1, "the count alone");
    }
    const cancels = await post(app, "/v1/cancels/batch", { cancels: [{ accountId: 2, orderId: "1" }] });
    assert.deepEqual([cancels.status, cancels.body.code], [400, "UNSIGNED"]);
    assert.equal(s.pendingTransactions, n);
    assert.equal(s.engine.openOrders(2).length, 0, "nothing placed");
  });
});

describe("api: binary order batches", () => {
  it("places binary order records like the JSON batch, one result per order", async () => {
    const json = setup();
    const binary = setup();
    const orders = [
      order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n, sizeLots: 5n }),
      order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 91n, sizeLots: 5n }),
      order(alice, { orderId: 1n, side: Side.BUY, priceTicks: 90n, sizeLots: 2n }),
      order(alice, { orderId: 2n, side: Side.BUY, priceTicks: 1n << 30n, sizeLots: 10n }),
    ];
    const a = await post(json.app, "/v1/orders/batch", { orders });
    const b = await postBinary(binary.app, "/v1/orders/batch", encodeOrderRecords(orders));
    assert.equal(b.status, 200);
    assert.deepEqual(b.body.results.map((r: { status: number; code?: string }) => [r.status, r.code]), [[200, undefined], [400, "ORDER_ID_REUSED"], [200, undefined], [422, "RISK_REJECTED"]]);
    assert.deepEqual(b.body, a.body);
    assert.deepEqual(binary.s.engine.depth(0), json.s.engine.depth(0));
    assert.equal(binary.app.api.intake.groups, 1, "the batch went to the sequencer as one group");
  });

  it("refuses a bad binary batch whole with a clear code, and changes nothing", async () => {
    const { s, app } = setup();
    const good = encodeOrderRecords([order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n }), order(bob, { orderId: 2n, side: Side.SELL, priceTicks: 91n })]);
    const flipped = good.slice();
    flipped[ORDER_RECORD_BYTES + 48] ^= 1; // r8x of the second order: a valid field element, not the signature
    const highBit = good.slice();
    highBit[ORDER_RECORD_BYTES + 17] = 1; // bit 136 of the second order's w0 (its fields end at bit 134)
    const n = s.pendingTransactions;
    const cases: [string, Uint8Array, number, string][] = [
      ["empty", new Uint8Array(0), 400, "MALFORMED"],
      ["a partial record", good.subarray(0, 130), 400, "MALFORMED"],
      ["bits above the order's fields", highBit, 400, "MALFORMED"],
      ["over 100 records", encodeOrderRecords(Array.from({ length: 101 }, (_, i) => order(bob, { orderId: BigInt(i + 1), side: Side.SELL, priceTicks: 90n }))), 400, "MALFORMED"],
    ];
    for (const [name, bytes, status, code] of cases) {
      const r = await postBinary(app, "/v1/orders/batch", bytes);
      assert.deepEqual([r.status, r.body.code], [status, code], name);
      assert.equal(typeof r.body.message, "string", name);
    }
    const elsewhere = await postBinary(app, "/v1/orders", good);
    assert.deepEqual([elsewhere.status, elsewhere.body.code], [415, "UNSUPPORTED_MEDIA_TYPE"], "only the order batch route takes binary bodies");
    assert.equal(s.pendingTransactions, n);
    assert.equal(s.engine.openOrders(2).length, 0, "nothing placed");
    const misSigned = await postBinary(app, "/v1/orders/batch", flipped);
    assert.deepEqual(misSigned.body.results.map((r: { status: number; code?: string }) => [r.status, r.code]), [[200, undefined], [400, "BAD_SIGNATURE"]], "a mis-signed record is refused on its own");
    assert.deepEqual(s.engine.openOrders(2).map((o) => o.orderId), [1n]);
  });
});

describe("api: rate limits", () => {
  it("answers 429 RATE_LIMITED once an account's bucket is empty, and changes nothing", async () => {
    const { s, app } = setup({ rateLimits: { perAccount: { perSecond: 0.001, burst: 2 }, perSource: null } });
    assert.equal((await post(app, "/v1/orders", order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n }))).status, 200);
    assert.equal((await post(app, "/v1/orders", order(bob, { orderId: 2n, side: Side.SELL, priceTicks: 91n }))).status, 200);
    const n = s.pendingTransactions;
    const book = s.engine.depth(0);
    const limited = await post(app, "/v1/orders", order(bob, { orderId: 3n, side: Side.SELL, priceTicks: 92n }));
    assert.deepEqual([limited.status, limited.body.code], [429, "RATE_LIMITED"]);
    const cancel = await post(app, "/v1/cancels", signCancel(bob.key, { accountId: 2, orderId: 1n }));
    assert.deepEqual([cancel.status, cancel.body.code], [429, "RATE_LIMITED"]);
    assert.deepEqual(s.engine.depth(0), book);
    assert.equal(s.pendingTransactions, n);
    // Another account has its own bucket; a batch is charged item by item: the items beyond it are 429.
    const batch = await post(app, "/v1/orders/batch", { orders: [1n, 2n, 3n].map((orderId) => order(alice, { orderId, side: Side.BUY, priceTicks: 10n, sizeLots: 1n })) });
    assert.deepEqual(batch.body.results.map((r: { status: number; code?: string }) => [r.status, r.code]), [[200, undefined], [200, undefined], [429, "RATE_LIMITED"]]);
    assert.deepEqual(s.engine.openOrders(1).map((o) => o.orderId), [1n, 2n]);
  });

  it("limits a client address across accounts", async () => {
    const { app } = setup({ rateLimits: { perAccount: null, perSource: { perSecond: 0.001, burst: 1 } } });
    assert.equal((await post(app, "/v1/orders", order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n }))).status, 200);
    assert.equal((await post(app, "/v1/orders", order(alice, { orderId: 1n, side: Side.BUY, priceTicks: 10n }))).body.code, "RATE_LIMITED");
  });
});

describe("api: keys, history, fills, batches", () => {
  it("serves the trading key, the EIP-712 message, order history and fills", async () => {
    const custodian = "0x00000000000000000000000000000000000000c5" as const;
    const { s, app } = setup({ exchange: { chainId: 31337, custodian } });
    const key = await get(app, "/v1/accounts/1/key");
    assert.deepEqual(key.body, { accountId: 1, publicKey: alice.pubKey.map(String) });
    assert.deepEqual((await get(app, "/v1/accounts/9/key")).body, { accountId: 9, publicKey: null });
    const typed = await get(app, "/v1/keys/typed-data?keyIndex=2");
    assert.equal(typed.body.primaryType, "RegisterTradingKey");
    assert.deepEqual([typed.body.domain.chainId, typed.body.domain.verifyingContract, typed.body.message.keyIndex], [31337, custodian, 2]);
    assert.equal((await get(app, "/v1/keys/typed-data?keyIndex=-1")).body.code, "MALFORMED");
    assert.deepEqual((await get(setup().app, "/v1/keys/typed-data")).body.code, "NOT_CONFIGURED");

    await post(app, "/v1/orders", order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n, sizeLots: 4n }));
    await post(app, "/v1/orders", order(bob, { orderId: 2n, side: Side.SELL, priceTicks: 95n, sizeLots: 4n }));
    await post(app, "/v1/orders", order(alice, { orderId: 1n, side: Side.BUY, priceTicks: 100n, sizeLots: 6n }));
    await post(app, "/v1/cancels", signCancel(bob.key, { accountId: 2, orderId: 2n }));

    const filled = await get(app, "/v1/accounts/2/orders/1");
    assert.deepEqual([filled.status, filled.body.order.status, filled.body.order.filledLots, filled.body.order.remainingLots], [200, "filled", "4", "0"]);
    const cancelled = await get(app, "/v1/accounts/2/orders/2");
    assert.deepEqual([cancelled.body.order.status, cancelled.body.order.filledLots, cancelled.body.order.cancelReason], ["cancelled", "2", "user"]);
    assert.equal(cancelled.body.order.signature, undefined, "no signature in history");
    const history = await get(app, "/v1/accounts/2/orders");
    assert.deepEqual(history.body.orders.map((o: { orderId: string }) => o.orderId), ["2", "1"], "newest first");
    assert.deepEqual((await get(app, "/v1/accounts/2/orders?status=filled")).body.orders.map((o: { orderId: string }) => o.orderId), ["1"]);
    assert.equal((await get(app, "/v1/accounts/2/orders?status=weird")).body.code, "MALFORMED");

    const fills = await get(app, "/v1/accounts/1/fills");
    assert.deepEqual(fills.body.fills.map((f: Record<string, unknown>) => [f.fillId, f.orderId, f.role, f.side, f.priceTicks, f.lots]), [
      [2, "1", "taker", Side.BUY, "95", "2"],
      [1, "1", "taker", Side.BUY, "90", "4"],
    ]);
    assert.deepEqual((await get(app, "/v1/accounts/1/fills?limit=1&before=2")).body.fills.map((f: { fillId: number }) => f.fillId), [1]);
    const bobFills = await get(app, "/v1/accounts/2/fills");
    assert.deepEqual(bobFills.body.fills.map((f: Record<string, unknown>) => [f.role, f.side, f.feePpm]), [["maker", Side.SELL, 100], ["maker", Side.SELL, 100]]);
    assert.equal((await get(app, "/v1/accounts/1/fills?limit=5000")).body.code, "MALFORMED");
    assert.deepEqual((await get(app, "/v1/accounts/1")).body.withdrawalNonce, 0);
    assert.deepEqual((await get(app, "/v1/accounts/1")).body.positions, []);
  });

  it("lists posted batches with their transaction hash and proof", async () => {
    const { s, app } = setup();
    assert.deepEqual((await get(app, "/v1/batches")).body.batches, []);
    const proof = [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n] as const;
    const timings = { buildMs: 1, witnessMs: 2, proveMs: 3, verifyMs: 4, postMs: 5 };
    s.events.emit("batch", { batchNumber: 0, txHash: "0xaa", transactions: 2, timings, proof });
    s.events.emit("batch", { batchNumber: 1, txHash: "0xbb", transactions: 1, timings, proof });
    const list = await get(app, "/v1/batches?limit=1");
    assert.deepEqual(list.body.batches.map((b: { batchNumber: number; txHash: string }) => [b.batchNumber, b.txHash]), [[1, "0xbb"]]);
    const one = await get(app, "/v1/batches/0");
    assert.deepEqual([one.body.batch.status, one.body.batch.txHash, one.body.batch.proof], ["posted", "0xaa", proof.map(String)]);
    assert.deepEqual([(await get(app, "/v1/batches/7")).status, (await get(app, "/v1/batches/7")).body.code], [404, "UNKNOWN_BATCH"]);
  });
});
