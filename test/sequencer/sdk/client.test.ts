/**
 * The SDK against an in-process API on a loopback port: key derivation from a viem account (and an
 * ethers-style signer), place/cancel/cancel-all/withdraw and reads through ExchangeClient, errors with
 * the server's code, and the stream client: book copy from snapshot + deltas, private updates, orders
 * over the WebSocket, and a dropped message detected as a gap and repaired from a fresh snapshot.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { privateKeyToAccount } from "viem/accounts";
import { hexToBytes, keccak256, type Hex } from "viem";
import { createApiServer } from "../../../sequencer/api/server.ts";
import { IMMEDIATE_ORDER_TTL, OrderType, Side, TimeInForce, TriggerType } from "../../../sequencer/protocol/constants.ts";
import { DEFAULT_IMMEDIATE_TTL, ExchangeClient } from "../../../sequencer/sdk/client.ts";
import { StreamClient, type StreamMessage } from "../../../sequencer/sdk/streamClient.ts";
import { deriveTradingKey, ethersTypedDataSigner, tradingKeyFromSignature, tradingKeyTypedData } from "../../../sequencer/sdk/tradingKey.ts";
import { ApiRequestError } from "../../../sequencer/sdk/wire.ts";
import { alice, bob, offlineSequencer } from "../../helpers/sequencer.ts";
import type { TestTrader } from "../../helpers/traders.ts";

async function setup() {
  const s = offlineSequencer();
  const app = createApiServer(s);
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  after(() => app.close());
  const client = (t: TestTrader) => new ExchangeClient({ url, accountId: t.accountId, tradingKey: { privateKey: t.key, publicKey: t.pubKey }, firstOrderId: 1n });
  return { s, url, client };
}

/** A stream client that loses the message with sequence number `dropSeq` (a network gap). */
class LossyStream extends StreamClient {
  dropSeq = -1;
  protected override receive(m: StreamMessage): void {
    if (m.seq === this.dropSeq) return;
    super.receive(m);
  }
}

describe("sdk: trading key", () => {
  it("derives the same key from a viem account and from an ethers-style signer", async () => {
    const wallet = privateKeyToAccount(`0x${"11".repeat(32)}`);
    const custodian = "0x00000000000000000000000000000000000000c5";
    const viemKey = await deriveTradingKey(wallet, 31337, custodian);
    const ethersLike = { signTypedData: (domain: any, types: any, message: any) => wallet.signTypedData({ domain, types, message, primaryType: "RegisterTradingKey" }) };
    const ethersKey = await deriveTradingKey(ethersTypedDataSigner(ethersLike), 31337, custodian);
    assert.deepEqual(ethersKey.publicKey, viemKey.publicKey);
    const other = await deriveTradingKey(wallet, 1, custodian);
    assert.notDeepEqual(other.publicKey, viemKey.publicKey, "another chain, another key");
    assert.equal(tradingKeyTypedData(31337, custodian).primaryType, "RegisterTradingKey");
  });

  it("derives the same key from the signature however the wallet writes it (v as 27/28 or 0/1, or EIP-2098 compact), and refuses other lengths and v (client.md 3.2)", async () => {
    const wallet = privateKeyToAccount(`0x${"22".repeat(32)}`);
    const custodian = "0x00000000000000000000000000000000000000c5";
    const sig = await wallet.signTypedData(tradingKeyTypedData(31337, custodian));
    const key = tradingKeyFromSignature(sig);
    assert.deepEqual(key.privateKey, hexToBytes(keccak256(sig)), "keccak256 of the 65 bytes, v = 27/28");
    const v = Number.parseInt(sig.slice(-2), 16);
    const yParity = v - 27;
    const zeroOne = `${sig.slice(0, -2)}0${yParity}` as Hex;
    assert.deepEqual(tradingKeyFromSignature(zeroOne), key);
    const s = hexToBytes(sig).slice(32, 64);
    s[0] = s[0]! | (yParity << 7);
    const compact = `${sig.slice(0, 66)}${Buffer.from(s).toString("hex")}` as Hex;
    assert.deepEqual(tradingKeyFromSignature(compact), key);
    for (const bad of [sig.slice(0, -4) as Hex, `${sig}00` as Hex, `${sig.slice(0, -2)}1d` as Hex, "0xzz" as Hex]) {
      assert.throws(() => tradingKeyFromSignature(bad), /signature/);
    }
  });
});

describe("sdk: ExchangeClient", () => {
  it("places, reads, cancels all and withdraws; refusals carry the server's code", async () => {
    const { s, client } = await setup();
    const a = client(alice);
    const b = client(bob);
    const sell = await b.placeOrder({ marketId: 0, side: Side.SELL, priceTicks: 90n, sizeLots: 10n });
    assert.equal(sell.events[0].type, "accepted");
    const batch = await b.placeOrders([
      { marketId: 0, side: Side.SELL, priceTicks: 95n, sizeLots: 1n },
      { marketId: 0, side: Side.SELL, priceTicks: 96n, sizeLots: 1n },
    ]);
    assert.deepEqual(batch.results.map((r) => r.status), [200, 200]);
    const binary = await b.placeOrders([{ marketId: 0, side: Side.SELL, priceTicks: 97n, sizeLots: 1n, orderId: 1n }, { marketId: 0, side: Side.SELL, priceTicks: 97n, sizeLots: 1n }], { binary: true });
    assert.deepEqual(binary.results.map((r) => [r.status, r.code]), [[400, "ORDER_ID_REUSED"], [200, undefined]], "binary records: the same answers");
    const buy = await a.placeOrder({ marketId: 0, side: Side.BUY, priceTicks: 90n, sizeLots: 4n });
    assert.ok(buy.events.some((e) => e.type === "fill"));

    const book = await a.book(0, 5);
    assert.deepEqual(book.asks.map((l) => [l.priceTicks, l.lots]), [[90n, 6n], [95n, 1n], [96n, 1n], [97n, 1n]]);
    assert.deepEqual((await a.fills()).fills.map((f) => [f.role, f.lots]), [["taker", 4n]]);
    assert.equal((await b.order(sell.order.orderId)).order.filledLots, 4n);

    const cancelled = await b.cancelAll(0);
    assert.deepEqual(cancelled.map((c) => c.result.status), [200, 200, 200, 200]);
    assert.deepEqual((await b.account()).openOrders, []);
    assert.deepEqual((await b.orders({ status: "cancelled" })).orders.length, 4);

    await a.withdraw(1, 4000n);
    assert.equal((await a.account()).withdrawalNonce, 1, "the next withdrawal's nonce");
    await assert.rejects(a.withdraw(1, 1n, 0), (e: ApiRequestError) => e.status === 400 && e.code === "BAD_NONCE");
    await assert.rejects(a.placeOrder({ marketId: 0, side: Side.BUY, priceTicks: 1n << 30n, sizeLots: 10n }), (e: ApiRequestError) => e.status === 422 && e.code === "RISK_REJECTED");
    assert.equal(s.engine.openOrders(1).length, 0);
  });
});

describe("sdk: StreamClient", () => {
  it("keeps a book copy from snapshot and deltas, gets private updates, and places orders over the WebSocket", async () => {
    const { s, client } = await setup();
    const b = client(bob);
    const stream = await b.stream();
    after(() => stream.close());
    await stream.subscribeMarket(0, 5);
    const fills: Record<string, any>[] = [];
    stream.on("fill", (f) => fills.push(f));

    const placed = await stream.placeOrder(b.signOrder({ marketId: 0, side: Side.SELL, priceTicks: 90n, sizeLots: 3n }));
    assert.equal(placed.events[0].type, "accepted");
    await assert.rejects(stream.placeOrder(b.signOrder({ marketId: 0, side: Side.SELL, priceTicks: 90n, sizeLots: 3n, orderId: 1n })), (e: ApiRequestError) => e.code === "ORDER_ID_REUSED");
    const delta = stream.next((m) => m.type === "book" && !m.snapshot && m.asks.some((l: { lots: bigint }) => l.lots === 2n));
    await client(alice).placeOrder({ marketId: 0, side: Side.BUY, priceTicks: 90n, sizeLots: 1n });
    await delta;
    assert.deepEqual(stream.book(0), s.engine.depth(0, 5));
    assert.deepEqual(fills.map((f) => [f.accountId, f.role, f.lots]), [[2, "maker", 1n]]);

    const frame = await stream.placeOrders([
      b.signOrder({ marketId: 0, side: Side.SELL, priceTicks: 91n, sizeLots: 1n }),
      b.signOrder({ marketId: 0, side: Side.SELL, priceTicks: 92n, sizeLots: 1n, orderId: 1n }),
    ]);
    assert.deepEqual(frame.results.map((r) => [r.status, r.code]), [[200, undefined], [400, "ORDER_ID_REUSED"]], "a binary frame: one result per order");
    assert.equal(s.engine.openOrders(2).length, 2);
  });

  it("detects a lost message by its sequence number and resyncs the book from a snapshot", async () => {
    const { s, url, client } = await setup();
    const stream = await LossyStream.connect(`${url.replace("http", "ws")}/v1/stream`);
    after(() => stream.close());
    await stream.subscribeMarket(0, 5); // seq 2 subscribed, 3 snapshot
    const gaps: [number, number][] = [];
    stream.on("gap", (expected, got) => gaps.push([expected, got]));
    const resynced = new Promise<number>((r) => stream.once("resynced", r));

    stream.dropSeq = 4; // the first delta is lost
    const b = client(bob);
    await b.placeOrder({ marketId: 0, side: Side.SELL, priceTicks: 90n, sizeLots: 3n });
    await new Promise((r) => setTimeout(r, 20));
    await b.placeOrder({ marketId: 0, side: Side.SELL, priceTicks: 91n, sizeLots: 2n });
    assert.equal(await resynced, 0);
    assert.deepEqual(gaps, [[4, 5]]);
    assert.deepEqual(stream.book(0), s.engine.depth(0, 5), "the copy equals the server's book after the resync");
    // Deltas apply again after the resync.
    const delta = stream.next((m) => m.type === "book" && m.asks.some((l: { priceTicks: bigint }) => l.priceTicks === 92n));
    await b.placeOrder({ marketId: 0, side: Side.SELL, priceTicks: 92n, sizeLots: 1n });
    await delta;
    assert.deepEqual(stream.book(0), s.engine.depth(0, 5));
    assert.equal(stream.gaps, 1);
  });
});

describe("sdk: order defaults", () => {
  it("signs resting orders and stop or take-profit orders with a day's expiry and other orders that never rest (IOC, FOK, market) with half of IMMEDIATE_ORDER_TTL (RULES.md G12); an explicit expiry is kept", () => {
    const c = new ExchangeClient({ url: "http://127.0.0.1:1", accountId: alice.accountId, tradingKey: { privateKey: alice.key, publicKey: alice.pubKey }, firstOrderId: 1n });
    const base = { marketId: 0, side: Side.BUY, priceTicks: 100n, sizeLots: 1n };
    const lifetime = (o: Partial<Parameters<ExchangeClient["signOrder"]>[0]>) => {
      const now = Math.floor(Date.now() / 1000);
      return c.signOrder({ ...base, ...o }).expiry - now;
    };
    const near = (v: number, want: number) => assert.ok(Math.abs(v - want) <= 2, `${v} s, not ${want}`);
    assert.equal(DEFAULT_IMMEDIATE_TTL, IMMEDIATE_ORDER_TTL / 2);
    near(lifetime({}), 86_400);
    near(lifetime({ timeInForce: TimeInForce.POST_ONLY }), 86_400);
    near(lifetime({ timeInForce: TimeInForce.IOC }), DEFAULT_IMMEDIATE_TTL);
    near(lifetime({ timeInForce: TimeInForce.FOK }), DEFAULT_IMMEDIATE_TTL);
    near(lifetime({ type: OrderType.MARKET, timeInForce: TimeInForce.IOC }), DEFAULT_IMMEDIATE_TTL);
    near(lifetime({ type: OrderType.MARKET, timeInForce: TimeInForce.GTC }), DEFAULT_IMMEDIATE_TTL);
    // a stop or take-profit waits for its mark: a day whatever its type (a stop-loss expiring in minutes protected nothing)
    near(lifetime({ type: OrderType.MARKET, timeInForce: TimeInForce.IOC, triggerType: TriggerType.STOP, triggerPriceTicks: 90n }), 86_400);
    near(lifetime({ timeInForce: TimeInForce.IOC, triggerType: TriggerType.TAKE_PROFIT, triggerPriceTicks: 110n }), 86_400);
    assert.equal(c.signOrder({ ...base, timeInForce: TimeInForce.IOC, expiry: 2_000_000_000 }).expiry, 2_000_000_000);
    const brisk = new ExchangeClient({ url: "http://127.0.0.1:1", accountId: alice.accountId, tradingKey: { privateKey: alice.key, publicKey: alice.pubKey }, immediateTtlSeconds: 60 });
    near(brisk.signOrder({ ...base, timeInForce: TimeInForce.IOC }).expiry - Math.floor(Date.now() / 1000), 60);
  });

  it("refuses an immediate-order lifetime the sequencer would refuse (above IMMEDIATE_ORDER_TTL) or none (0)", () => {
    const make = (immediateTtlSeconds: number) => () =>
      new ExchangeClient({ url: "http://127.0.0.1:1", accountId: alice.accountId, tradingKey: { privateKey: alice.key, publicKey: alice.pubKey }, immediateTtlSeconds });
    assert.throws(make(IMMEDIATE_ORDER_TTL + 1), /immediateTtlSeconds 601 must be in \(0, 600\]/);
    assert.throws(make(0), RangeError);
    assert.doesNotThrow(make(IMMEDIATE_ORDER_TTL));
  });
});
