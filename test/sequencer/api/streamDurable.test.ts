/**
 * The stream tells a command's trades, fills and order changes only once the log record behind it is durable
 * (review of 2026-12-06: they went out before the fsync, so a power loss could take back a fill a client had
 * been shown). The sequencer here logs to a store whose sync the test holds and releases, and whose `synced()` keeps
 * SqliteStore's background-sync contract exactly: it waits for the commits made before the call, not for later ones
 * (a second review found the first fix asked for durability before the command's own record was appended, which a
 * store that held every sync could not show).
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { Side } from "../../../sequencer/protocol/constants.ts";
import { signStreamAuth } from "../../../sequencer/protocol/signing.ts";
import { createApiServer } from "../../../sequencer/api/server.ts";
import { SqliteStore } from "../../../sequencer/persistence/sqliteStore.ts";
import type { SequencerStore } from "../../../sequencer/persistence/store.ts";
import { toJson } from "../../../sequencer/wire/schemas.ts";
import { order } from "../../helpers/traders.ts";
import { alice, bob, offlineSequencer } from "../../helpers/sequencer.ts";

type Msg = Record<string, any>;

/**
 * A store that syncs in the background, commit by commit: `synced()` resolves once the commits made before the call
 * are on disk; while the test holds it (`hold`), later commits reach the disk only when it says (`release`).
 */
function heldStore(path: string) {
  const inner = new SqliteStore(path);
  let committed = 0;
  let synced = 0;
  let holding = false;
  const waiting: { upTo: number; resolve: () => void }[] = [];
  const sync = () => {
    synced = committed;
    for (const w of waiting.splice(0)) w.resolve(); // every waiter asked for commits up to `committed` at most
  };
  const store: SequencerStore = {
    append: (r) => inner.append(r),
    commit: (now) => {
      inner.commit(now);
      committed = inner.lastSeq;
      if (!holding || now) sync();
    },
    synced: () => (synced >= committed ? Promise.resolve() : new Promise<void>((resolve) => waiting.push({ upTo: committed, resolve }))),
    records: (afterSeq) => inner.records(afterSeq),
    get lastSeq() {
      return inner.lastSeq;
    },
    saveSnapshot: (seq, body) => inner.saveSnapshot(seq, body),
    latestSnapshot: () => inner.latestSnapshot(),
    get rules() {
      return inner.rules;
    },
    rulesSegments: () => inner.rulesSegments(),
    close: () => inner.close(),
  };
  return {
    store,
    hold() {
      holding = true;
    },
    release() {
      holding = false;
      sync();
    },
    unsynced: () => committed - synced,
  };
}

describe("api stream: durability", () => {
  it("sends a trade, its fills and the taker's order change only once the log record behind them is synced", async () => {
    const dir = mkdtempSync(join(tmpdir(), "stream-durable-"));
    const disk = heldStore(join(dir, "sequencer.db"));
    const s = offlineSequencer({ store: disk.store });
    const app = createApiServer(s);
    const address = await app.listen({ host: "127.0.0.1", port: 0 });
    const ws = new WebSocket(`${address.replace("http", "ws")}/v1/stream`);
    after(async () => {
      ws.close();
      await app.close();
      disk.store.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const messages: Msg[] = [];
    let wake: (() => void) | null = null;
    ws.on("message", (d) => {
      messages.push(JSON.parse(d.toString()));
      wake?.();
    });
    const waitFor = async (ok: () => boolean) => {
      while (!ok()) await new Promise<void>((r) => (wake = r));
    };
    await waitFor(() => messages.length >= 1);
    const challenge = BigInt(messages[0].challenge);
    ws.send(toJson({ op: "auth", accountId: 1, signature: signStreamAuth(alice.key, { accountId: 1, challenge }).signature }));
    ws.send(toJson({ op: "subscribe", channel: "market", marketId: 0, levels: 5 }));
    await waitFor(() => messages.some((m) => m.type === "book"));

    s.placeOrder(order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n, sizeLots: 5n }));
    await waitFor(() => messages.some((m) => m.type === "book" && !m.snapshot));
    disk.hold();
    const seen = messages.length;
    s.placeOrder(order(alice, { orderId: 1n, side: Side.BUY, priceTicks: 90n, sizeLots: 2n }));
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(disk.unsynced() > 0, "the fill's record is committed, not synced");
    const early = messages.slice(seen).map((m) => m.type);
    assert.ok(!early.includes("trade") && !early.includes("fill") && !early.includes("order"), `nothing of the fill before the sync: ${early}`);

    disk.release();
    await waitFor(() => messages.slice(seen).some((m) => m.type === "fill"));
    const told = messages.slice(seen);
    const trade = told.find((m) => m.type === "trade")!;
    assert.deepEqual([trade.priceTicks, trade.lots, trade.takerAccount], ["90", "2", 1], "the trade, once synced");
    const fill = told.find((m) => m.type === "fill")!;
    assert.deepEqual([fill.fill.accountId, fill.fill.role, fill.fill.lots], [1, "taker", "2"]);
    assert.ok(told.indexOf(trade) < told.indexOf(fill), "in the order they happened");
    assert.deepEqual(messages.map((m) => m.seq), messages.map((_, i) => i + 1), "gapless sequence numbers");
  });
});
