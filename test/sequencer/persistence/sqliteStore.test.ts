/**
 * The SQLite store: group commit (a crash or close before commit drops exactly the uncommitted records),
 * ordered reads from any position, one latest snapshot, pruning, refusal of another deployment's file,
 * and background sync (commits become durable when synced() resolves; commit(true) and close sync at once).
 */
import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LOG_RULES_VERSION } from "../../../sequencer/persistence/logRules.ts";
import type { LogRecord } from "../../../sequencer/persistence/records.ts";
import { CHECKPOINT_EVERY_COMMITS, SqliteStore, StoreMismatch } from "../../../sequencer/persistence/sqliteStore.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function file(): string {
  const dir = mkdtempSync(join(tmpdir(), "sqlite-store-"));
  dirs.push(dir);
  return join(dir, "sub", "sequencer.db");
}
const posted = (n: number): LogRecord => ({ t: "posted", batchNumber: n, txHash: null, time: 0 });
const seqs = (s: SqliteStore, after = 0) => [...s.records(after)].map((r) => r.seq);

describe("sqlite store", () => {
  it("makes a group durable at commit and drops an uncommitted group on close", () => {
    const path = file();
    const s = new SqliteStore(path);
    assert.equal(s.append(posted(0)), 1);
    assert.equal(s.append(posted(1)), 2);
    s.commit();
    s.append(posted(2));
    s.close();
    const again = new SqliteStore(path);
    assert.deepEqual([...again.records()], [{ seq: 1, record: posted(0) }, { seq: 2, record: posted(1) }]);
    assert.equal(again.lastSeq, 2);
    assert.equal(again.append(posted(2)), 3, "seq continues after the last durable record");
    again.commit();
    assert.deepEqual(seqs(again, 1), [2, 3]);
    again.close();
  });

  it("keeps the latest snapshot only, refuses one past the log or with a group open, and can prune what it covers", () => {
    const path = file();
    const s = new SqliteStore(path, { pruneOnSnapshot: true });
    for (let i = 0; i < 4; i++) s.append(posted(i));
    assert.throws(() => s.saveSnapshot(2, {}), /commit the log/);
    s.commit();
    assert.throws(() => s.saveSnapshot(5, {}), RangeError);
    s.saveSnapshot(1, { at: 1n });
    s.saveSnapshot(3, { at: 3n });
    assert.deepEqual(s.latestSnapshot(), { seq: 3, body: { at: 3n }, rules: LOG_RULES_VERSION });
    assert.deepEqual(seqs(s), [4]);
    s.close();
    const again = new SqliteStore(path);
    assert.equal(again.lastSeq, 4);
    again.close();
  });

  it("binds to one deployment and refuses another's identity", () => {
    const path = file();
    const s = new SqliteStore(path);
    s.bind({ chainId: "31337", custodian: "0xabc" });
    s.bind({ custodian: "0xabc", chainId: "31337" });
    assert.throws(() => s.bind({ chainId: "1", custodian: "0xabc" }), (e: unknown) => e instanceof StoreMismatch && e.code === "STORE_MISMATCH");
    // the process's settings that replay reads (fees, liquidator) are bound beside it, under their own key
    s.bind({ makerFeePpm: "100", takerFeePpm: "500" }, "settings");
    s.bind({ makerFeePpm: "100", takerFeePpm: "500" }, "settings");
    assert.throws(() => s.bind({ makerFeePpm: "100", takerFeePpm: "600" }, "settings"), (e: unknown) => e instanceof StoreMismatch && /settings/.test(e.message));
    s.bind({ custodian: "0xabc", chainId: "31337" });
    s.close();
  });

  it("with background sync, answers synced() once the commits before it reach the disk, and keeps every commit", async () => {
    const path = file();
    assert.throws(() => new SqliteStore(":memory:", { sync: "background" }), /needs a file/);
    assert.throws(() => new SqliteStore(path, { sync: "background", synchronous: "NORMAL" }), /FULL durability/);
    const s = new SqliteStore(path, { sync: "background" });
    let synced = false;
    await s.synced(); // nothing committed: at once
    s.append(posted(0));
    s.commit();
    const first = s.synced().then(() => (synced = true));
    s.append(posted(1));
    s.commit(); // while the first fsync may still run: covered by the next one
    const second = s.synced();
    await first;
    await second;
    assert.equal(synced, true);
    s.append(posted(2));
    s.commit(true); // synced before it returns
    let atOnce = false;
    void s.synced().then(() => (atOnce = true));
    await Promise.resolve();
    assert.equal(atOnce, true, "commit(true) left nothing to sync");
    s.append(posted(3));
    s.commit();
    s.append(posted(4)); // never committed
    s.close(); // syncs the committed, drops the open group
    const again = new SqliteStore(path, { sync: "background" });
    assert.deepEqual(seqs(again), [1, 2, 3, 4]);
    again.close();
  });

  it("with background sync, checkpoints the WAL from a worker every CHECKPOINT_EVERY_COMMITS commits", async () => {
    const path = file();
    const s = new SqliteStore(path, { sync: "background" });
    for (let i = 0; i < CHECKPOINT_EVERY_COMMITS * 2; i++) {
      s.append(posted(i));
      s.commit();
    }
    await s.synced();
    const deadline = Date.now() + 10_000;
    while (s.checkpoints < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.ok(s.checkpoints >= 1, "a checkpoint ran off the writer's thread");
    assert.equal(s.checkpointFailure, null);
    s.close();
    const again = new SqliteStore(path, { sync: "background" });
    assert.equal(seqs(again).length, CHECKPOINT_EVERY_COMMITS * 2);
    again.close();
  });
});
