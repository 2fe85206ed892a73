/**
 * The WebSocket (/v1/stream) with a raw ws client on a loopback port: hello and gapless sequence
 * numbers, book snapshots then deltas, trades, the private channel (authenticated over the connection's
 * challenge; a replayed or mis-signed auth is refused; nobody sees another account's updates; a key
 * rotation ends the authentication the old key made), signed order entry with request ids (JSON, and
 * binary order frames), batch events, and bad messages answered with a code.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import WebSocket from "ws";
import { Side, TxType } from "../../../sequencer/protocol/constants.ts";
import { publicKeyOf } from "../../../sequencer/crypto/babyjub.ts";
import { signCancel, signStreamAuth } from "../../../sequencer/protocol/signing.ts";
import { createApiServer } from "../../../sequencer/api/server.ts";
import { AUTH_SOURCE_COST, type RateLimits } from "../../../sequencer/api/commands.ts";
import { MAX_FAILED_AUTHS, SNAPSHOT_COST, type StreamOptions } from "../../../sequencer/api/stream.ts";
import { toJson } from "../../../sequencer/wire/schemas.ts";
import { encodeOrderFrame, ORDER_FRAME_HEADER_BYTES } from "../../../sequencer/wire/orderFrames.ts";
import { ORDER_RECORD_BYTES } from "../../../sequencer/protocol/orderRecords.ts";
import { order } from "../../helpers/traders.ts";
import { alice, bob, offlineSequencer } from "../../helpers/sequencer.ts";
import { get } from "../../helpers/apiInject.ts";
import { countingProver, FakeCustodian } from "../../helpers/fakeCustodian.ts";
import { refusingVerifier } from "../../helpers/sequencerProvers.ts";
import { ExchangeState } from "../../../sequencer/state/exchangeState.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";

type Msg = Record<string, any>;

/** A raw stream connection that records every message. */
class Conn {
  readonly messages: Msg[] = [];
  readonly #waiters: (() => void)[] = [];
  constructor(readonly ws: WebSocket) {
    ws.on("message", (d) => {
      this.messages.push(JSON.parse(d.toString()));
      this.#waiters.splice(0).forEach((w) => w());
    });
  }
  static async open(address: string): Promise<Conn> {
    const c = new Conn(new WebSocket(`${address.replace("http", "ws")}/v1/stream`));
    await c.waitFor(1);
    return c;
  }
  async waitFor(count: number): Promise<Msg[]> {
    while (this.messages.length < count) await new Promise<void>((r) => this.#waiters.push(r));
    return this.messages;
  }
  /** Sends and waits for the next `count` messages, which it returns. */
  async ask(msg: unknown, count = 1): Promise<Msg[]> {
    const n = this.messages.length;
    this.ws.send(typeof msg === "string" || msg instanceof Uint8Array ? msg : toJson(msg));
    await this.waitFor(n + count);
    return this.messages.slice(n, n + count);
  }
  get challenge(): bigint {
    return BigInt(this.messages[0].challenge);
  }
}

async function setup(overrides: Parameters<typeof offlineSequencer>[0] = {}, rateLimits?: RateLimits, stream?: StreamOptions) {
  const s = offlineSequencer(overrides);
  const app = createApiServer(s, { rateLimits, stream });
  const address = await app.listen({ host: "127.0.0.1", port: 0 });
  const conns: Conn[] = [];
  after(async () => {
    for (const c of conns) c.ws.close();
    await app.close();
  });
  const open = async () => {
    const c = await Conn.open(address);
    conns.push(c);
    return c;
  };
  return { s, app, open, address };
}

describe("api stream: market data", () => {
  it("sends a snapshot on subscribe, then trades and deltas of the changed levels, with gapless sequence numbers", async () => {
    const { s, app, open } = await setup();
    s.placeOrder(order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n, sizeLots: 10n }));
    s.placeOrder(order(bob, { orderId: 2n, side: Side.SELL, priceTicks: 95n, sizeLots: 3n }));
    const c = await open();
    assert.equal(c.messages[0].type, "hello");
    assert.match(c.messages[0].challenge, /^[0-9]+$/);

    const [sub, snap] = await c.ask({ op: "subscribe", channel: "market", marketId: 0, levels: 5 }, 2);
    assert.deepEqual(sub, { type: "subscribed", channel: "market", marketId: 0, levels: 5, seq: 2 });
    assert.deepEqual(snap, { type: "book", seq: 3, marketId: 0, snapshot: true, bids: [], asks: [{ priceTicks: "90", lots: "10", orders: 1 }, { priceTicks: "95", lots: "3", orders: 1 }] });

    s.placeOrder(order(alice, { orderId: 1n, side: Side.BUY, priceTicks: 90n, sizeLots: 4n }));
    s.placeOrder(order(alice, { orderId: 2n, side: Side.BUY, priceTicks: 80n, sizeLots: 2n }));
    const [trade, delta] = await c.waitFor(5).then((m) => m.slice(3, 5));
    assert.deepEqual(trade, {
      type: "trade", seq: 4, marketId: 0, priceTicks: "90", lots: "4", makerSide: Side.SELL,
      makerAccount: 2, makerOrderId: "1", takerAccount: 1, takerOrderId: "1", tradeId: 1, time: trade.time,
    });
    assert.ok(Math.abs(trade.time - Date.now() / 1000) < 60, "the trade's time, unix seconds");
    assert.deepEqual((await get(app, "/v1/markets/0/trades")).body.trades, [{ tradeId: 1, marketId: 0, priceTicks: "90", lots: "4", makerSide: Side.SELL, time: trade.time }], "the route reports the streamed trade");
    // Both commands ran in one event-loop turn: one delta with only the levels that changed.
    assert.deepEqual(delta, { type: "book", seq: 5, marketId: 0, snapshot: false, bids: [{ priceTicks: "80", lots: "2", orders: 1 }], asks: [{ priceTicks: "90", lots: "6", orders: 1 }] });

    s.cancelOrder(signCancel(alice.key, { accountId: 1, orderId: 2n }));
    const [removed] = await c.waitFor(6).then((m) => m.slice(5));
    assert.deepEqual([removed.bids, removed.asks], [[{ priceTicks: "80", lots: "0", orders: 0 }], []], "an emptied level is sent with lots 0");

    const [resync] = await c.ask({ op: "snapshot", marketId: 0 });
    assert.deepEqual([resync.snapshot, resync.asks.length, resync.bids.length], [true, 2, 0]);
    const errors = [
      await c.ask("not json"),
      await c.ask({ op: "subscribe", channel: "market", marketId: 7 }),
      await c.ask({ op: "snapshot", marketId: 3 }),
      await c.ask({ op: "subscribe", channel: "market", marketId: 0, levels: 1000 }),
      await c.ask({ op: "fly" }),
    ].map(([m]) => m.code);
    assert.deepEqual(errors, ["MALFORMED", "UNKNOWN_MARKET", "NOT_SUBSCRIBED", "MALFORMED", "MALFORMED"]);

    const [unsub] = await c.ask({ op: "unsubscribe", channel: "market", marketId: 0 });
    assert.equal(unsub.type, "unsubscribed");
    s.placeOrder(order(alice, { orderId: 3n, side: Side.BUY, priceTicks: 90n, sizeLots: 1n }));
    const [again] = await c.ask({ op: "batches", subscribe: true });
    assert.equal(again.type, "batches", "no trade after unsubscribing");
    assert.deepEqual(c.messages.map((m) => m.seq), c.messages.map((_, i) => i + 1));
  });

  it("sends batch events to batch subscribers", async () => {
    const { s, open } = await setup();
    const c = await open();
    const other = await open();
    await c.ask({ op: "batches", subscribe: true });
    s.events.emit("batch", { batchNumber: 3, txHash: "0xab", transactions: 2, timings: { buildMs: 0, witnessMs: 0, proveMs: 0, verifyMs: 0, postMs: 0 }, proof: [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n] });
    const [ev] = await c.waitFor(3).then((m) => m.slice(2));
    assert.deepEqual([ev.type, ev.batch.batchNumber, ev.batch.txHash, ev.batch.status], ["batch", 3, "0xab", "posted"]);
    assert.equal(other.messages.length, 1, "not subscribed: only the hello");
  });
});

describe("api stream: connections that go wrong", () => {
  it("survives clients that ask to upgrade another path and reset the connection (before and after the 404): the process goes on serving", async () => {
    const { app, open } = await setup();
    const { port } = app.server.address() as net.AddressInfo;
    for (const late of [false, true, false, true]) {
      await new Promise<void>((done) => {
        const c = net.connect(port, "127.0.0.1", () => {
          c.write("GET /nope HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
          if (late) setTimeout(() => c.resetAndDestroy(), 20);
          else c.resetAndDestroy();
        });
        c.on("error", () => undefined);
        c.on("close", () => setTimeout(done, 50));
      });
    }
    const conn = await open();
    assert.equal(conn.messages[0]!.type, "hello", "still serving the stream");
  });

  // Wire fuzz of 2026-12-07 (Critical): the MALFORMED answer listed zod's issues with the value received, so an order
  // whose `side` was an array nested 5,000 deep (10 KB, no signature needed) was echoed as deep; serialising the
  // answer overflowed the stack inside the order's rejection handler, an unhandled rejection that ends the process
  // (Node's default), settlement with it. Now the issues never carry the value received.
  it("answers an order or subscribe whose field is nested thousands deep MALFORMED by id and ref, keeps the connection, and nothing escapes the handlers", async () => {
    const { s, open } = await setup();
    const escaped: unknown[] = [];
    const onEscape = (e: unknown) => escaped.push(e);
    process.on("unhandledRejection", onEscape);
    process.on("uncaughtException", onEscape);
    try {
      const c = await open();
      const pending = s.pendingTransactions;
      const deep = "[".repeat(5000) + "]".repeat(5000);
      const good = toJson(order(alice, { orderId: 1n, side: Side.BUY }));
      const [refused] = await c.ask(`{"op":"order","id":7,"order":${good.replace(/"side":0/, `"side":${deep}`)}}`);
      assert.deepEqual([refused!.type, refused!.id, refused!.ref, refused!.code], ["error", 7, 1, "MALFORMED"], toJson(refused).slice(0, 300));
      assert.ok(toJson(refused).length < 1000, "the value is not echoed");
      const [sub] = await c.ask(`{"op":"subscribe","channel":"market","marketId":${deep}}`);
      assert.deepEqual([sub!.type, sub!.ref, sub!.code], ["error", 2, "MALFORMED"]);
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(escaped.map(String), [], "no unhandled rejection or exception");
      assert.equal(c.ws.readyState, WebSocket.OPEN, "the connection is kept");
      assert.equal(s.pendingTransactions, pending, "nothing changed");
      const [placed] = await c.ask({ op: "order", id: 8, order: order(alice, { orderId: 1n, side: Side.BUY }) });
      assert.equal(placed!.type, "result", "the stream still takes orders");
    } finally {
      process.off("unhandledRejection", onEscape);
      process.off("uncaughtException", onEscape);
    }
  });
});

describe("api stream: connections a source may hold", () => {
  const connect = (address: string, options: WebSocket.ClientOptions = {}) =>
    new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(`${address.replace("http", "ws")}/v1/stream`, options);
      ws.on("open", () => resolve(ws));
      ws.on("error", reject);
    });

  it("refuses a source's connection beyond maxConnectionsPerSource (429) and takes one again once another closes", async () => {
    const { open, address } = await setup({}, undefined, { maxConnectionsPerSource: 2 });
    const first = await open();
    await open();
    await assert.rejects(connect(address), /429/);
    const closed = new Promise((r) => first.ws.on("close", r));
    first.ws.close();
    await closed;
    await new Promise((r) => setTimeout(r, 50)); // the server sees the close
    (await connect(address)).close();
  });

  it("disconnects a client that does not read (its buffer past maxBufferedBytes) at once, socket and all, so a source cannot hold more sockets than its cap (review of 2026-12-06)", async () => {
    const { s, app, open } = await setup({}, { perSource: null }, { maxConnectionsPerSource: 2, maxBufferedBytes: 64 * 1024 });
    for (let i = 0; i < 12; i++) s.placeOrder(order(bob, { orderId: BigInt(i + 1), side: Side.SELL, priceTicks: 100n + BigInt(i), sizeLots: 1n }));
    const sockets = () => new Promise<number>((r) => app.server.getConnections((_, n) => r(n)));
    for (let round = 0; round < 3; round++) {
      const c = await open();
      await c.ask({ op: "subscribe", channel: "market", marketId: 0, levels: 100 }, 2);
      (c.ws as unknown as { _socket: { pause(): void } })._socket.pause(); // never reads again
      for (let k = 0; k < 20_000; k++) c.ws.send(toJson({ op: "snapshot", marketId: 0 }));
      // the server destroys its socket: none of the server's sockets stays open (a closed one lingered for 30 s)
      const until = Date.now() + 10_000;
      while ((await sockets()) > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      assert.equal(await sockets(), 0, `round ${round}: the slow consumer's socket is still open on the server`);
      c.ws.terminate();
    }
  });

  it("charges market-data requests to the source's bucket: a book snapshot SNAPSHOT_COST tokens, an unsubscribe one; beyond, RATE_LIMITED and nothing sent", async () => {
    const { open } = await setup({}, { perSource: { perSecond: 1, burst: 2 * SNAPSHOT_COST + 1 } });
    const c = await open();
    const [sub] = await c.ask({ op: "subscribe", channel: "market", marketId: 0 }, 2);
    assert.equal(sub!.type, "subscribed");
    const [snap] = await c.ask({ op: "snapshot", marketId: 0 });
    assert.equal(snap!.type, "book");
    const [unsub] = await c.ask({ op: "unsubscribe", channel: "market", marketId: 0 });
    assert.equal(unsub!.type, "unsubscribed");
    const [refused] = await c.ask({ op: "subscribe", channel: "market", marketId: 0 });
    assert.deepEqual([refused!.type, refused!.code, refused!.status], ["error", "RATE_LIMITED", 429]);
  });

  it("closes a connection that stops answering pings, and keeps one that answers", async () => {
    const { open, address } = await setup({}, undefined, { heartbeatMs: 50 });
    const mute = await connect(address, { autoPong: false });
    const answering = await open();
    const closed = await new Promise<number>((r) => mute.on("close", (code) => r(code)));
    assert.equal(closed, 1006, "terminated, not closed politely");
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(answering.ws.readyState, WebSocket.OPEN);
  });
});

describe("api stream: private channel and order entry", () => {
  it("closes a connection after MAX_FAILED_AUTHS mis-signed authentications, and charges every attempt AUTH_SOURCE_COST of its source's bucket (a signature check before any account is known)", async () => {
    const { open } = await setup();
    const c = await open();
    const forged = signStreamAuth(bob.key, { accountId: 1, challenge: c.challenge }).signature;
    for (let i = 1; i <= MAX_FAILED_AUTHS; i++) assert.equal((await c.ask({ op: "auth", accountId: 1, signature: forged }))[0].code, "BAD_SIGNATURE");
    const code = await new Promise<number>((resolve) => c.ws.once("close", (closeCode) => resolve(closeCode)));
    assert.equal(code, 1008, "closed as a policy violation");

    // a source whose bucket holds two attempts: the third is refused before its signature is checked
    const limited = await setup({}, { perSource: { perSecond: 1, burst: 2 * AUTH_SOURCE_COST + AUTH_SOURCE_COST / 2 } });
    const d = await limited.open();
    const other = await limited.open();
    assert.equal((await d.ask({ op: "auth", accountId: 1, signature: forged }))[0].code, "BAD_SIGNATURE");
    assert.equal((await other.ask({ op: "auth", accountId: 1, signature: forged }))[0].code, "BAD_SIGNATURE");
    assert.equal((await d.ask({ op: "auth", accountId: 1, signature: signStreamAuth(alice.key, { accountId: 1, challenge: d.challenge }).signature }))[0].code, "RATE_LIMITED");
  });

  it("authenticates over the connection's challenge and sends an account only its own orders and fills", async () => {
    const { s, open } = await setup();
    const a = await open();
    const b = await open();
    const spy = await open();

    const [replayed] = await spy.ask({ op: "auth", accountId: 1, signature: signStreamAuth(alice.key, { accountId: 1, challenge: a.challenge }).signature });
    assert.deepEqual([replayed.type, replayed.code], ["error", "BAD_SIGNATURE"], "another connection's auth does not work here");
    const [wrongKey] = await spy.ask({ op: "auth", accountId: 1, signature: signStreamAuth(bob.key, { accountId: 1, challenge: spy.challenge }).signature });
    assert.equal(wrongKey.code, "BAD_SIGNATURE");
    const [noKey] = await spy.ask({ op: "auth", accountId: 9, signature: signStreamAuth(bob.key, { accountId: 9, challenge: spy.challenge }).signature });
    assert.equal(noKey.code, "NO_TRADING_KEY");
    const [unsigned] = await spy.ask({ op: "auth", accountId: 1 });
    assert.equal(unsigned.code, "UNSIGNED");

    const [okA] = await a.ask({ op: "auth", accountId: 1, signature: signStreamAuth(alice.key, { accountId: 1, challenge: a.challenge }).signature });
    assert.deepEqual(okA, { type: "authenticated", accountId: 1, seq: 2 });
    const [twice] = await a.ask({ op: "auth", accountId: 2, signature: signStreamAuth(bob.key, { accountId: 2, challenge: a.challenge }).signature });
    assert.equal(twice.code, "ALREADY_AUTHENTICATED");
    await b.ask({ op: "auth", accountId: 2, signature: signStreamAuth(bob.key, { accountId: 2, challenge: b.challenge }).signature });

    // Orders over the WebSocket, with request ids.
    const told = await b.ask({ op: "order", id: "b-1", order: order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n, sizeLots: 5n }) }, 2);
    const rest = told.find((m) => m.type === "order")!; // the answer and the stream's message: both once durable, either first
    assert.deepEqual([rest.type, rest.order.orderId, rest.order.status], ["order", "1", "open"], "bob sees his order open");
    const bResult = b.messages.find((m) => m.type === "result" && m.id === "b-1")!;
    assert.equal(bResult.events[0].type, "accepted");

    const n = a.messages.length;
    a.ws.send(toJson({ op: "order", id: 7, order: order(alice, { orderId: 1n, side: Side.BUY, priceTicks: 90n, sizeLots: 2n }) }));
    await a.waitFor(n + 3); // taker order filled + fill + result
    const got = a.messages.slice(n).map((m) => m.type).sort();
    assert.deepEqual(got, ["fill", "order", "result"]);
    const aFill = a.messages.slice(n).find((m) => m.type === "fill")!;
    assert.deepEqual([aFill.fill.accountId, aFill.fill.role, aFill.fill.lots], [1, "taker", "2"]);
    await b.waitFor(b.messages.length + 0);
    while (!b.messages.some((m) => m.type === "fill")) await b.waitFor(b.messages.length + 1);
    const bFill = b.messages.find((m) => m.type === "fill")!;
    assert.deepEqual([bFill.fill.accountId, bFill.fill.role], [2, "maker"]);
    for (const m of a.messages) if (m.type === "order" || m.type === "fill") assert.equal((m.order ?? m.fill).accountId, 1, "alice sees only her own");
    for (const m of b.messages) if (m.type === "order" || m.type === "fill") assert.equal((m.order ?? m.fill).accountId, 2, "bob sees only his own");
    assert.ok(spy.messages.every((m) => m.type === "hello" || m.type === "error"), "an unauthenticated connection gets nothing private");

    // Bad orders over the WebSocket: a clear code with the request id, nothing changed.
    const pending = s.pendingTransactions;
    const good = JSON.parse(toJson(order(alice, { orderId: 2n, side: Side.BUY, priceTicks: 50n, sizeLots: 1n })));
    const bad = [
      await a.ask({ op: "order", id: "x1", order: { ...good, signature: undefined } }),
      await a.ask({ op: "order", id: "x2", order: { ...good, sizeLots: "2" } }),
      await a.ask({ op: "order", id: "x3", order: JSON.parse(toJson(order(alice, { orderId: 1n, side: Side.BUY, priceTicks: 50n }))) }),
      await a.ask({ op: "cancel", id: "x4", cancel: signCancel(alice.key, { accountId: 1, orderId: 99n }) }),
      await a.ask({ op: "cancel", id: "x5", cancel: signCancel(alice.key, { accountId: 2, orderId: 1n }) }),
    ].map(([m]) => [m.id, m.status, m.code]);
    assert.deepEqual(bad, [["x1", 400, "UNSIGNED"], ["x2", 400, "BAD_SIGNATURE"], ["x3", 400, "ORDER_ID_REUSED"], ["x4", 422, "UNKNOWN_ORDER"], ["x5", 400, "BAD_SIGNATURE"]]);
    assert.equal(s.pendingTransactions, pending);

    const cancelled = (await b.ask({ op: "cancel", id: "c", cancel: signCancel(bob.key, { accountId: 2, orderId: 1n }) }, 2)).find((m) => m.type === "order")!;
    assert.deepEqual([cancelled.type, cancelled.order.status, cancelled.order.cancelReason], ["order", "cancelled", "user"]);

    // Place, then cancel at once on the same connection (review of 2026-12-06: the cancel ran first, found no order,
    // and the order stayed live): the cancel runs in its turn, after the order.
    const m = b.messages.length;
    b.ws.send(toJson({ op: "order", id: "place-7", order: order(bob, { orderId: 7n, side: Side.SELL, priceTicks: 95n, sizeLots: 3n }) }));
    b.ws.send(toJson({ op: "cancel", id: "cancel-7", cancel: signCancel(bob.key, { accountId: 2, orderId: 7n }) }));
    while (!b.messages.slice(m).some((x) => x.id === "cancel-7")) await b.waitFor(b.messages.length + 1);
    const answers = b.messages.slice(m).filter((x) => x.id === "place-7" || x.id === "cancel-7").map((x) => [x.id, x.type, x.code]);
    assert.deepEqual(answers, [["place-7", "result", undefined], ["cancel-7", "result", undefined]], "the order placed, then cancelled");
    assert.equal(s.query.order(2, 7n), undefined, "not live");
  });

  it("ends a private subscription when its account rotates the key it authenticated with: the old key's stream is told KEY_ROTATED and gets nothing private after it, the old key no longer authenticates, the new key does", async () => {
    const { s, open } = await setup();
    const bob2 = { accountId: bob.accountId, key: new Uint8Array(32).fill(77), pubKey: publicKeyOf(new Uint8Array(32).fill(77)) };
    const auth = (c: Conn, key: Uint8Array) => c.ask({ op: "auth", accountId: 2, signature: signStreamAuth(key, { accountId: 2, challenge: c.challenge }).signature });
    const stale = await open(); // authenticated with K1 (say, by whoever the leaked key reached)
    const late = await open(); // opened before the rotation, authenticates after it
    assert.equal((await auth(stale, bob.key))[0].type, "authenticated");
    await stale.ask({ op: "subscribe", channel: "market", marketId: 0, levels: 5 }, 2);
    s.placeOrder(order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n, sizeLots: 10n }));
    await stale.ask({ op: "batches", subscribe: false }); // (answered after the order's messages: they are sent as it runs)
    assert.ok(stale.messages.some((m) => m.type === "order" && m.order.orderId === "1"), "before the rotation the K1 stream sees bob's order");

    const before = stale.messages.length;
    s.acceptRequest({ type: TxType.REGISTER_KEY, accountId: 2, pubKey: bob2.pubKey }); // K1 -> K2: cancels order 1 (key-rotated)
    // private data of account 2 after the rotation: a new order signed by K2, filled by alice (an order, a fill)
    s.placeOrder(order(bob2, { orderId: 2n, side: Side.SELL, priceTicks: 95n, sizeLots: 4n }));
    s.placeOrder(order(alice, { orderId: 1n, side: Side.BUY, priceTicks: 95n, sizeLots: 4n }));
    await stale.ask({ op: "batches", subscribe: false });
    const after = stale.messages.slice(before);
    const ended = after.find((m) => m.type === "unauthenticated");
    assert.deepEqual(ended && { ...ended, seq: 0, message: typeof ended.message }, { type: "unauthenticated", accountId: 2, code: "KEY_ROTATED", message: "string", seq: 0 }, "the K1 stream is told why its private subscription ended");
    assert.equal(after[0].type, "unauthenticated", "before anything else of the rotation (its key-rotated cancels included)");
    const leaked = after.filter((m) => ["order", "fill", "rejected", "derivatives"].includes(m.type));
    assert.deepEqual(leaked, [], "the K1 stream gets nothing private after the rotation");
    assert.ok(after.some((m) => m.type === "trade"), "market data goes on: the connection stays open");
    assert.equal(stale.ws.readyState, WebSocket.OPEN);
    assert.deepEqual(stale.messages.map((m) => m.seq), stale.messages.map((_, i) => i + 1));

    // the old key authenticates nothing any more, on this connection or another; the new one does
    assert.equal((await auth(stale, bob.key))[0].code, "BAD_SIGNATURE");
    assert.equal((await auth(late, bob.key))[0].code, "BAD_SIGNATURE");
    assert.deepEqual((await auth(late, bob2.key))[0], { type: "authenticated", accountId: 2, seq: 3 });
    assert.equal((await auth(stale, bob2.key))[0].type, "authenticated", "the holder of the new key may authenticate the same connection again");
    const fresh = [late.messages.length, stale.messages.length];
    s.placeOrder(order(bob2, { orderId: 3n, side: Side.SELL, priceTicks: 96n, sizeLots: 1n }));
    await late.ask({ op: "batches", subscribe: false });
    await stale.ask({ op: "batches", subscribe: false });
    for (const [c, n] of [[late, fresh[0]], [stale, fresh[1]]] as const) {
      assert.ok(c.messages.slice(n).some((m) => m.type === "order" && m.order.orderId === "3" && m.order.status === "open"), "a K2 stream sees bob's new order");
    }
  });

  it("tells a stream at once that the key it authenticated with was rotated, though the rotation has nothing private to send (no order to cancel); a rotation to the same key ends nothing", async () => {
    const { s, open } = await setup();
    const c = await open();
    const same = await open();
    await c.ask({ op: "auth", accountId: 1, signature: signStreamAuth(alice.key, { accountId: 1, challenge: c.challenge }).signature });
    await same.ask({ op: "auth", accountId: 2, signature: signStreamAuth(bob.key, { accountId: 2, challenge: same.challenge }).signature });
    s.acceptRequest({ type: TxType.REGISTER_KEY, accountId: 2, pubKey: [...bob.pubKey] as typeof bob.pubKey }); // bob registers his own key again
    s.acceptRequest({ type: TxType.REGISTER_KEY, accountId: 1, pubKey: publicKeyOf(new Uint8Array(32).fill(78)) });
    await c.ask({ op: "batches", subscribe: false }); // (answered after what the rotation sent: that is sent as it runs)
    const [ended] = c.messages.slice(2);
    assert.deepEqual([ended.type, ended.accountId, ended.code, ended.seq], ["unauthenticated", 1, "KEY_ROTATED", 3]);
    const [answer] = await same.ask({ op: "batches", subscribe: false });
    assert.equal(answer.type, "batches", "bob's stream, whose key is still the account's, was not ended");
    assert.deepEqual(same.messages.map((m) => m.type), ["hello", "authenticated", "batches"]);
  });

  it("sends an account the rejection of its transaction that no batch could prove, and keeps it in its history", async () => {
    const verifier = refusingVerifier();
    const chain = new FakeCustodian(new ExchangeState(TEST_PARAMS).root);
    const { s, app, open } = await setup({ chain: chain.context(), prover: countingProver(), verifier });
    await s.drain();
    const a = await open();
    await a.ask({ op: "auth", accountId: 1, signature: signStreamAuth(alice.key, { accountId: 1, challenge: a.challenge }).signature });
    s.placeOrder(order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n, sizeLots: 5n }));
    const buy = order(alice, { orderId: 1n, side: Side.BUY, priceTicks: 90n, sizeLots: 2n });
    s.placeOrder(buy);
    verifier.refuse = buy.signature.s; // found while the batch is built
    await s.drain();
    while (!a.messages.some((m) => m.type === "rejected")) await a.waitFor(a.messages.length + 1);
    const { rejection } = a.messages.find((m) => m.type === "rejected")!;
    assert.deepEqual(
      [rejection.accountId, rejection.code, rejection.txType, rejection.details],
      [1, "BAD_SIGNATURE", 4, { orderId: "1", marketId: 0, side: 0, lots: "2", priceTicks: "90" }],
    );
    const listed = await get(app, "/v1/accounts/1/rejections");
    assert.deepEqual(listed.body.rejections.map((r: { code: string }) => r.code), ["BAD_SIGNATURE"]);
    assert.equal((await get(app, "/v1/accounts/2/rejections")).body.rejections[0].details.orderId, "1", "the maker sees it too");
    const fills = await get(app, "/v1/accounts/1/fills");
    assert.deepEqual(fills.body.fills.map((f: { rejected?: string }) => f.rejected), ["BAD_SIGNATURE"], "the fill did not settle");
  });

  it("places binary order frames with one result per order, and refuses a bad frame whole with its id", async () => {
    const { s, open } = await setup();
    const c = await open();
    const orders = [
      order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n, sizeLots: 5n }),
      order(alice, { orderId: 1n, side: Side.BUY, priceTicks: 90n, sizeLots: 2n }),
      order(alice, { orderId: 1n, side: Side.BUY, priceTicks: 80n, sizeLots: 2n }),
    ];
    const [results] = await c.ask(encodeOrderFrame(41, orders));
    assert.deepEqual([results.type, results.id], ["results", 41]);
    assert.deepEqual(results.results.map((r: Msg) => [r.status, r.code]), [[200, undefined], [200, undefined], [400, "ORDER_ID_REUSED"]]);
    assert.ok(results.results[1].events.some((e: Msg) => e.type === "fill"), "the second order traded");

    const pending = s.pendingTransactions;
    const book = s.engine.depth(0);
    const frame = encodeOrderFrame(42, [order(alice, { orderId: 2n, side: Side.BUY, priceTicks: 50n }), order(alice, { orderId: 3n, side: Side.BUY, priceTicks: 51n })]);
    const truncated = frame.subarray(0, frame.length - 1);
    const otherKind = frame.slice();
    otherKind[0] = 2;
    const highBits = frame.slice();
    highBits[ORDER_FRAME_HEADER_BYTES + ORDER_RECORD_BYTES + 23] = 0x80; // bit 191 of the second order's w0
    const bad = [
      await c.ask(truncated),
      await c.ask(otherKind),
      await c.ask(highBits),
      await c.ask(new Uint8Array([1, 9, 0, 0, 0])),
      await c.ask(new Uint8Array([1])),
    ].map(([m]) => [m.type, m.id, m.status, m.code]);
    assert.deepEqual(bad, [
      ["error", 42, 400, "MALFORMED"], ["error", undefined, 400, "MALFORMED"], ["error", 42, 400, "MALFORMED"], ["error", 9, 400, "MALFORMED"], ["error", undefined, 400, "MALFORMED"],
    ]);
    assert.equal(s.pendingTransactions, pending, "nothing changed");
    assert.deepEqual(s.engine.depth(0), book);
    assert.deepEqual(c.messages.map((m) => m.seq), c.messages.map((_, i) => i + 1));
  });

  it("closes a connection that sends an oversized frame", async () => {
    const { open } = await setup();
    const c = await open();
    const code = await new Promise<number>((resolve) => {
      c.ws.once("close", (code) => resolve(code));
      c.ws.send("x".repeat(20_000));
    });
    assert.equal(code, 1009);
  });
});
