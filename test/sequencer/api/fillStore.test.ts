/**
 * The trade history across restarts (sequencer/api/fillStore.ts): the SQLite store keeps every fill and
 * gives back each account's and each market's newest; the writer writes only once the commands behind the
 * fills are durable; a server restarted on the same store answers fills and market trades as before, and
 * its new trades continue the fill ids; pages older than the in-memory indexes are read from the store; no
 * read scans the table.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BackgroundFillStore } from "../../../sequencer/api/backgroundFillStore.ts";
import { FillWriter, SqliteFillStore, STORE_QUERIES, type FillStore } from "../../../sequencer/api/fillStore.ts";
import type { FillRecord } from "../../../sequencer/api/history.ts";
import { createApiServer } from "../../../sequencer/api/server.ts";
import { Side, TxType } from "../../../sequencer/protocol/constants.ts";
import { get, post } from "../../helpers/apiInject.ts";
import { alice, bob, offlineSequencer } from "../../helpers/sequencer.ts";
import { order } from "../../helpers/traders.ts";

const dir = mkdtempSync(join(tmpdir(), "fill-store-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshPath = () => join(dir, `history-${++files}.db`);

/** Both sides of trade `id`: `maker` sells `lots` at `price` on `market` to `taker`. */
function trade(id: number, market: number, maker: number, taker: number, price = 100n, lots = 1n): FillRecord[] {
  const side = (s: Side, role: "maker" | "taker", accountId: number): FillRecord => ({
    fillId: id, accountId, orderId: BigInt(id), marketId: market, side: s, role, priceTicks: price, lots, feePpm: role === "maker" ? 100 : 500, time: 1_700_000_000 + id,
  });
  return [side(Side.SELL, "maker", maker), side(Side.BUY, "taker", taker)];
}

describe("fill store: SQLite", () => {
  it("gives back every account's and every market's newest fills, oldest first, and the last fill id, after a reopen", () => {
    const path = freshPath();
    const store = new SqliteFillStore(path);
    assert.deepEqual(store.load(10, 10), { accountFills: [], marketTrades: [], lastFillId: 0 });
    store.append([...trade(1, 0, 2, 1), ...trade(2, 0, 2, 1, 101n), ...trade(3, 0x8000, 3, 1, 5n, 7n)]);
    store.append(trade(4, 0, 3, 2, 99n));
    store.close();

    const reopened = new SqliteFillStore(path);
    const { accountFills, marketTrades, lastFillId } = reopened.load(2, 1);
    assert.equal(lastFillId, 4);
    // per account the newest two (account 1 took part in 1, 2 and 3; account 2 in 1, 2 and 4), in id order
    assert.deepEqual(accountFills.map((f) => [f.fillId, f.accountId, f.role]), [
      [2, 2, "maker"], [2, 1, "taker"], [3, 3, "maker"], [3, 1, "taker"], [4, 3, "maker"], [4, 2, "taker"],
    ]);
    // per market the newest trade, as its maker's fill
    assert.deepEqual(marketTrades.map((f) => [f.fillId, f.marketId, f.role]), [[3, 0x8000, "maker"], [4, 0, "maker"]]);
    // every field comes back as written (bigints included)
    assert.deepEqual(marketTrades[0], trade(3, 0x8000, 3, 1, 5n, 7n)[0]);
    reopened.close();
  });

  it("marks one account's side of a fill rejected, and nothing else", () => {
    const store = new SqliteFillStore(freshPath());
    store.append([...trade(1, 0, 2, 1), ...trade(2, 0, 2, 1)]);
    store.markRejected(2, 1, "INSUFFICIENT_BALANCE");
    const rejected = store.load(10, 10).accountFills.filter((f) => f.rejected !== undefined);
    assert.deepEqual(rejected.map((f) => [f.fillId, f.accountId, f.rejected]), [[2, 1, "INSUFFICIENT_BALANCE"]]);
    store.close();
  });

  it("pages an account's fills and a market's trades back from the newest, below any fill id", () => {
    const store = new SqliteFillStore(freshPath());
    for (let id = 1; id <= 6; id++) store.append(trade(id, id % 2, 2, id <= 3 ? 1 : 3)); // markets 1, 0, 1, 0, 1, 0
    const ids = (fills: FillRecord[]) => fills.map((f) => [f.fillId, f.role]);
    assert.deepEqual(ids(store.accountFills(2, 4)), [[6, "maker"], [5, "maker"], [4, "maker"], [3, "maker"]]);
    assert.deepEqual(ids(store.accountFills(2, 4, 3)), [[2, "maker"], [1, "maker"]]);
    assert.deepEqual(ids(store.accountFills(1, 10)), [[3, "taker"], [2, "taker"], [1, "taker"]]);
    assert.deepEqual(store.accountFills(9, 10), [], "an account that never traded");
    assert.deepEqual(ids(store.marketTrades(1, 2)), [[5, "maker"], [3, "maker"]]);
    assert.deepEqual(ids(store.marketTrades(1, 2, 3)), [[1, "maker"]]);
    // a self-trade: both sides belong to one account, the taker's first (newest first as the in-memory index gives them)
    store.append(trade(7, 0, 4, 4));
    assert.deepEqual(ids(store.accountFills(4, 10)), [[7, "taker"], [7, "maker"]]);
    store.close();
  });

  it("reads by index searches only: no query scans the table, whatever its length", () => {
    const store = new SqliteFillStore(freshPath());
    for (const [name, sql] of Object.entries(STORE_QUERIES)) {
      const plan = store.queryPlan(sql);
      assert.ok(plan.some((line) => /^SEARCH (fills|orders|rejections) USING ((COVERING )?INDEX|PRIMARY KEY)/.test(line)), `${name} searches an index: ${plan.join("; ")}`);
      assert.ok(!plan.some((line) => /^SCAN (fills|orders|rejections)|TEMP B-TREE/.test(line)), `${name} neither scans a table nor sorts: ${plan.join("; ")}`);
    }
    store.close();
  });

  it("refuses a fill id written twice and keeps the first write", () => {
    const store = new SqliteFillStore(freshPath());
    store.append(trade(1, 0, 2, 1));
    assert.throws(() => store.append([...trade(2, 0, 2, 1), ...trade(1, 0, 2, 1, 500n)]), /UNIQUE constraint failed/);
    const { accountFills, lastFillId } = store.load(10, 10);
    assert.equal(lastFillId, 1, "the failed group left nothing (fill 2 rolled back with it)");
    assert.deepEqual(accountFills.map((f) => f.priceTicks), [100n, 100n]);
    store.close();
  });
});

describe("fill store: writer", () => {
  it("writes nothing until the commands behind the fills are durable, then everything in order", async () => {
    const store = new SqliteFillStore(freshPath());
    const waiting: (() => void)[] = [];
    const durable = () => new Promise<void>((r) => waiting.push(r));
    const turns = async (n: number) => {
      for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
    };
    const errors: unknown[] = [];
    const transactions: number[] = [];
    const write = store.write.bind(store);
    store.write = (writes) => {
      transactions.push(writes.length);
      write(writes);
    };
    const writer = new FillWriter(store, durable, (e) => errors.push(e));
    writer.fills(trade(1, 0, 2, 1));
    writer.fills(trade(2, 0, 2, 1));
    await turns(3);
    assert.equal(waiting.length, 1, "one durability wait for the fills of one turn");
    assert.equal(store.load(10, 10).lastFillId, 0, "not written before the log is durable");
    writer.fillRejected(trade(1, 0, 2, 1)[1]!, "EXPIRED"); // handed over while the first wait is on
    waiting.shift()!();
    await turns(3);
    assert.equal(store.load(10, 10).lastFillId, 2, "the fills of the first wait are written");
    assert.deepEqual(transactions, [2], "both commands' fills in one transaction");
    assert.equal(store.load(10, 10).accountFills.filter((f) => f.rejected).length, 0, "the rejection waits for a durability wait of its own");
    assert.equal(waiting.length, 1);
    waiting.shift()!();
    await writer.flushed();
    const { accountFills } = store.load(10, 10);
    assert.deepEqual(accountFills.filter((f) => f.rejected).map((f) => [f.fillId, f.accountId, f.rejected]), [[1, 1, "EXPIRED"]]);
    assert.deepEqual(errors, []);
    store.close();
  });

  it("reports a failed write and goes on with the next", async () => {
    const store = new SqliteFillStore(freshPath());
    const errors: unknown[] = [];
    const writer = new FillWriter(store, async () => {}, (e) => errors.push(e));
    writer.fills(trade(1, 0, 2, 1));
    await writer.flushed();
    writer.fills(trade(1, 0, 2, 1)); // the same fill id again: refused by the store
    await writer.flushed();
    writer.fills(trade(2, 0, 2, 1));
    await writer.flushed();
    assert.equal(errors.length, 1);
    assert.match(String(errors[0]), /UNIQUE constraint failed/);
    assert.equal(store.load(10, 10).lastFillId, 2);
    store.close();
  });
});

describe("fill store: background writes (the sequencer process's store)", () => {
  it("applies each write as one transaction on the worker, in order, visible to reads once flushed", async () => {
    const errors: Error[] = [];
    const path = freshPath();
    const store = new BackgroundFillStore(path, (e) => errors.push(e));
    store.write([{ fills: trade(1, 0, 2, 1) }, { fills: trade(2, 0, 2, 1) }]);
    store.write([{ rejected: { fillId: 2, accountId: 1, code: "EXPIRED" } }]);
    await store.flushed();
    assert.deepEqual(store.accountFills(1, 10).map((f) => [f.fillId, f.rejected]), [[2, "EXPIRED"], [1, undefined]]);
    // a write with a fill id already stored fails whole (fill 3 with it), the next one goes on
    store.write([{ fills: trade(3, 0, 2, 1) }, { fills: trade(1, 0, 2, 1) }]);
    store.write([{ fills: trade(4, 0, 2, 1) }]);
    await store.flushed();
    assert.equal(errors.length, 1);
    assert.match(errors[0]!.message, /writing the trade history failed: .*UNIQUE constraint failed/);
    assert.deepEqual(store.accountFills(2, 10).map((f) => f.fillId), [4, 2, 1]);
    await store.close();
    assert.throws(() => store.write([{ fills: trade(5, 0, 2, 1) }]), /the trade-history store is closed/);
    const reopened = new SqliteFillStore(path);
    assert.equal(reopened.load(10, 10).lastFillId, 4);
    reopened.close();
  });
});

describe("fill store: a history writer that dies", () => {
  it("a writer that outgrows its heap dies alone: the death and every later write are reported lost, flushed and close still return, the reads go on", async () => {
    const errors: Error[] = [];
    const path = freshPath();
    const store = new BackgroundFillStore(path, (e) => errors.push(e), { heapMb: 16 });
    store.write([{ fills: trade(1, 0, 2, 1) }]);
    await store.flushed();
    assert.equal(errors.length, 0, "a small write is written");
    // one write of 200,000 fills: its message alone outgrows the writer's 16 MiB heap (100,000 already do)
    store.write(Array.from({ length: 200_000 }, (_, i) => ({ fills: trade(2 + i, 0, 2, 1) })));
    await store.flushed();
    assert.ok(errors.some((e) => /trade-history writer exited/.test(e.message)), `the death is reported: ${errors.map((e) => e.message).join("; ")}`);
    const before = errors.length;
    store.write([{ fills: trade(300_000, 0, 2, 1) }]);
    assert.equal(errors.length, before + 1);
    assert.match(errors.at(-1)!.message, /the trade-history writer is gone: these writes are lost/);
    await store.flushed();
    assert.deepEqual(store.accountFills(1, 10).map((f) => f.fillId), [1], "what was committed before the death is read");
    await store.close();
  });
});

describe("fill store: the API across a restart", () => {
  for (const kind of ["SqliteFillStore", "BackgroundFillStore"] as const) it(`a server restarted on the same store (${kind}) answers fills, market trades, orders and rejections as before, and new trades and rejections continue the ids`, async () => {
    const path = freshPath();
    const open = (): FillStore => (kind === "SqliteFillStore" ? new SqliteFillStore(path) : new BackgroundFillStore(path, (e) => assert.fail(e)));
    const first = open();
    const sequencer = offlineSequencer();
    const app = createApiServer(sequencer, { fillStore: first });
    await post(app, "/v1/orders", order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n, sizeLots: 4n }));
    await post(app, "/v1/orders", order(alice, { orderId: 1n, side: Side.BUY, priceTicks: 100n, sizeLots: 3n })); // trade 1
    await post(app, "/v1/orders", order(alice, { orderId: 2n, side: Side.BUY, priceTicks: 100n, sizeLots: 1n })); // trade 2
    await post(app, "/v1/orders", order(alice, { orderId: 3n, side: Side.BUY, priceTicks: 80n, sizeLots: 2n })); // rests
    // a batch could not prove trade 2 (as the sequencer reports it): alice's and bob's rejections, the fills marked
    const trade2 = { type: TxType.TRADE, buy: order(alice, { orderId: 2n, side: Side.BUY, priceTicks: 100n, sizeLots: 1n }), sell: order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n, sizeLots: 4n }), lots: 1n, priceTicks: 90n, buyFeePpm: 500, sellFeePpm: 100 } as const;
    sequencer.events.emit("rejected", { code: "INSUFFICIENT_BALANCE", message: "test", tx: trade2, accounts: [alice.accountId, bob.accountId], time: 1_700_000_000 });
    const fillsBefore = (await get(app, "/v1/accounts/2/fills")).body;
    const tradesBefore = (await get(app, "/v1/markets/0/trades")).body;
    const ordersBefore = (await get(app, "/v1/accounts/1/orders")).body;
    const rejectionsBefore = (await get(app, "/v1/accounts/1/rejections")).body;
    assert.deepEqual(ordersBefore.orders.map((o: { orderId: string; status: string }) => [o.orderId, o.status]), [["3", "open"], ["2", "filled"], ["1", "filled"]]);
    assert.equal(rejectionsBefore.rejections.length, 1);
    assert.deepEqual(tradesBefore.trades.map((t: { tradeId: number }) => t.tradeId), [2, 1]);
    await app.close(); // waits for the history's writes
    await first.close(); // (the background store's: for its worker's)

    const second = open();
    const restarted = createApiServer(offlineSequencer(), { fillStore: second });
    after(async () => {
      await restarted.close();
      await second.close();
    });
    assert.deepEqual((await get(restarted, "/v1/accounts/2/fills")).body, fillsBefore);
    assert.deepEqual((await get(restarted, "/v1/markets/0/trades")).body, tradesBefore);
    assert.deepEqual((await get(restarted, "/v1/accounts/1/orders")).body, ordersBefore, "closed orders are listed again");
    assert.deepEqual((await get(restarted, "/v1/accounts/1/rejections")).body, rejectionsBefore);
    assert.equal((await get(restarted, "/v1/accounts/2/fills")).body.fills.find((f: { fillId: number }) => f.fillId === 2).rejected, "INSUFFICIENT_BALANCE");
    // the new sequencer's book is empty: bob's order is not there; a new trade gets the next id
    await post(restarted, "/v1/orders", order(bob, { orderId: 2n, side: Side.SELL, priceTicks: 95n, sizeLots: 1n }));
    await post(restarted, "/v1/orders", order(alice, { orderId: 3n, side: Side.BUY, priceTicks: 95n, sizeLots: 1n }));
    assert.deepEqual((await get(restarted, "/v1/markets/0/trades")).body.trades.map((t: { tradeId: number }) => t.tradeId), [3, 2, 1]);
    assert.deepEqual((await get(restarted, "/v1/accounts/1/fills")).body.fills.map((f: { fillId: number }) => f.fillId), [3, 2, 1]);
  });

  it("serves pages older than the in-memory indexes from the store, continuing without a gap", async () => {
    const store = new SqliteFillStore(freshPath());
    // the indexes keep 2 fills per account and 2 trades per market (4 between trims); the store keeps all
    const app = createApiServer(offlineSequencer(), { fillStore: store, history: { maxFillsPerAccount: 2 }, maxTradesPerMarket: 2 });
    after(async () => {
      await app.close();
      store.close();
    });
    await post(app, "/v1/orders", order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n, sizeLots: 20n }));
    for (let i = 1; i <= 9; i++) await post(app, "/v1/orders", order(alice, { orderId: BigInt(i), side: Side.BUY, priceTicks: 100n, sizeLots: 1n })); // trades 1..9
    const fillIds = async (path: string) => (await get(app, path)).body.fills.map((f: { fillId: number }) => f.fillId);
    const tradeIds = async (path: string) => (await get(app, path)).body.trades.map((t: { tradeId: number }) => t.tradeId);
    assert.ok(app.api.history.fills(1).length < 9, "the in-memory index dropped alice's oldest fills");
    // the writer writes once the (offline sequencer's) log is durable: wait for the ninth trade's rows
    for (let waited = 0; store.accountFills(1, 10).length < 9; waited += 10) {
      assert.ok(waited < 5_000, "the fills reach the store");
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.deepEqual(await fillIds("/v1/accounts/1/fills"), [9, 8, 7, 6, 5, 4, 3, 2, 1]);
    assert.deepEqual(await fillIds("/v1/accounts/1/fills?limit=3&before=5"), [4, 3, 2]);
    assert.deepEqual(await fillIds("/v1/accounts/1/fills?before=2"), [1]);
    assert.deepEqual(await tradeIds("/v1/markets/0/trades?limit=5"), [9, 8, 7, 6, 5]);
    assert.deepEqual(await tradeIds("/v1/markets/0/trades?limit=4&before=3"), [2, 1]);
    // a page reaching past the memory's oldest continues in the store with the next older fill
    const page1 = await fillIds("/v1/accounts/2/fills?limit=4");
    const page2 = await fillIds(`/v1/accounts/2/fills?limit=4&before=${page1.at(-1)}`);
    assert.deepEqual([...page1, ...page2], [9, 8, 7, 6, 5, 4, 3, 2]);
  });
});
