/**
 * The trade history across restarts (sequencer/api/fillStore.ts): the SQLite store keeps every fill and
 * gives back each account's and each market's newest; the writer writes only once the commands behind the
 * fills are durable; a server restarted on the same store answers fills and market trades as before, and
 * its new trades continue the fill ids.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FillWriter, SqliteFillStore } from "../../../sequencer/api/fillStore.ts";
import type { FillRecord } from "../../../sequencer/api/history.ts";
import { createApiServer } from "../../../sequencer/api/server.ts";
import { Side } from "../../../sequencer/protocol/constants.ts";
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

describe("fill store: the API across a restart", () => {
  it("a server restarted on the same store answers fills and market trades as before, and new trades continue the ids", async () => {
    const path = freshPath();
    const first = new SqliteFillStore(path);
    const app = createApiServer(offlineSequencer(), { fillStore: first });
    await post(app, "/v1/orders", order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n, sizeLots: 4n }));
    await post(app, "/v1/orders", order(alice, { orderId: 1n, side: Side.BUY, priceTicks: 100n, sizeLots: 3n })); // trade 1
    await post(app, "/v1/orders", order(alice, { orderId: 2n, side: Side.BUY, priceTicks: 100n, sizeLots: 1n })); // trade 2
    const fillsBefore = (await get(app, "/v1/accounts/2/fills")).body;
    const tradesBefore = (await get(app, "/v1/markets/0/trades")).body;
    assert.deepEqual(tradesBefore.trades.map((t: { tradeId: number }) => t.tradeId), [2, 1]);
    await app.close(); // waits for the history's writes
    first.close();

    const second = new SqliteFillStore(path);
    const restarted = createApiServer(offlineSequencer(), { fillStore: second });
    after(async () => {
      await restarted.close();
      second.close();
    });
    assert.deepEqual((await get(restarted, "/v1/accounts/2/fills")).body, fillsBefore);
    assert.deepEqual((await get(restarted, "/v1/markets/0/trades")).body, tradesBefore);
    // the new sequencer's book is empty: bob's order is not there; a new trade gets the next id
    await post(restarted, "/v1/orders", order(bob, { orderId: 2n, side: Side.SELL, priceTicks: 95n, sizeLots: 1n }));
    await post(restarted, "/v1/orders", order(alice, { orderId: 3n, side: Side.BUY, priceTicks: 95n, sizeLots: 1n }));
    assert.deepEqual((await get(restarted, "/v1/markets/0/trades")).body.trades.map((t: { tradeId: number }) => t.tradeId), [3, 2, 1]);
    assert.deepEqual((await get(restarted, "/v1/accounts/1/fills")).body.fills.map((f: { fillId: number }) => f.fillId), [3, 2, 1]);
  });
});
