/**
 * The trade history store of the sequencer process (fillStore.ts), with its writes on a worker thread:
 * SQLite inserts of every fill cost the API's JavaScript thread about a fifth of its order throughput when run
 * there (`npm run bench:api`, its trade-history rows). The worker has its own connection and applies each
 * `write` as one transaction, in the order they were handed over; reads (the start-up read, pages older than
 * the in-memory indexes) use this thread's connection, which sees every committed write (WAL).
 *
 * Durability is the synchronous store's: a write is handed over once the commands behind it are durable
 * (FillWriter), so the history never shows a trade whose order a crash lost; a crash may lose the last
 * writes still queued for the worker (as it may lose the last writes of the synchronous store), never the
 * trades themselves, which the command log and the proven batches keep.
 */
import { Worker } from "node:worker_threads";
import { sqliteWorkerSource } from "../persistence/sqlite.ts";
import { SCHEMA_SQL, SqliteFillStore, WRITE_SQL, writeRows, type FillStore, type HistoryWrite, type StoredFills, type StoredRecords } from "./fillStore.ts";
import type { FillRecord } from "./history.ts";

/** The worker: one connection, fillStore.ts's WRITE_SQL prepared; each message one transaction of WriteRows. */
const WORKER_SOURCE = sqliteWorkerSource(
  `db.exec(workerData.schema);
const statements = Object.fromEntries(Object.entries(workerData.statements).map(([name, sql]) => [name, db.prepare(sql)]));`,
  `db.exec("BEGIN");
    try {
      for (const w of m) for (const row of w.rows) statements[w.sql].run(...row);
      db.exec("COMMIT");
    } catch (e) {
      db.exec("ROLLBACK");
      throw e;
    }`,
);

/** The history writer's heap limit by default, in MiB: far above what a durability wait's writes need (a few MiB). */
export const WRITER_HEAP_MB = 256;

export class BackgroundFillStore implements FillStore {
  readonly #reader: SqliteFillStore;
  readonly #worker: Worker;
  readonly #onError: (e: Error) => void;
  readonly #exited: Promise<void>;
  #posted = 0;
  #done = 0;
  #waiting: { upTo: number; resolve: () => void }[] = [];
  #closed = false;
  /** The worker ended (closed, or died): nothing handed over from then on is written. */
  #gone = false;

  /**
   * Opens `path` (creating the table) and starts the writer; `onError` hears a failed transaction or a dead worker.
   * `heapMb` caps the writer's JavaScript heap (default WRITER_HEAP_MB): a writer that outgrows it dies alone, its
   * writes are reported lost and the exchange goes on, rather than the process running out of memory.
   */
  constructor(path: string, onError: (e: Error) => void, opts: { heapMb?: number } = {}) {
    this.#reader = new SqliteFillStore(path);
    this.#onError = onError;
    this.#worker = new Worker(WORKER_SOURCE, {
      eval: true, workerData: { path, schema: SCHEMA_SQL, statements: WRITE_SQL }, resourceLimits: { maxOldGenerationSizeMb: opts.heapMb ?? WRITER_HEAP_MB },
    });
    this.#worker.on("message", (m: { ok: boolean; error?: string }) => {
      this.#done++;
      if (!m.ok) this.#onError(new Error(`writing the trade history failed: ${m.error}`));
      this.#wake();
    });
    this.#worker.on("error", (e) => this.#onError(e));
    this.#exited = new Promise((resolve) => this.#worker.once("exit", (code) => {
      if (!this.#closed) this.#onError(new Error(`the trade-history writer exited (${code})`));
      this.#gone = true;
      this.#done = this.#posted; // nothing more will be written: release every waiter
      this.#wake();
      resolve();
    }));
    this.#worker.unref(); // keeps the process alive only while writes are in flight (#wake, write, close)
  }

  load(perAccount: number, perMarket: number): StoredFills {
    return this.#reader.load(perAccount, perMarket);
  }

  loadRecords(perAccount: number): StoredRecords {
    return this.#reader.loadRecords(perAccount);
  }

  accountFills(accountId: number, limit: number, before?: number): FillRecord[] {
    return this.#reader.accountFills(accountId, limit, before);
  }

  marketTrades(marketId: number, limit: number, before?: number): FillRecord[] {
    return this.#reader.marketTrades(marketId, limit, before);
  }

  /** Hands `writes` to the worker as one transaction; `flushed` resolves once it is committed. */
  write(writes: readonly HistoryWrite[]): void {
    if (this.#closed) throw new Error("the trade-history store is closed");
    if (!writes.length) return;
    if (this.#gone) {
      this.#onError(new Error("the trade-history writer is gone: these writes are lost"));
      return;
    }
    this.#posted++;
    this.#worker.ref();
    this.#worker.postMessage(writes.map(writeRows));
  }

  /** Resolves once every write handed over so far is committed (or failed, which `onError` heard). */
  flushed(): Promise<void> {
    if (this.#done >= this.#posted) return Promise.resolve();
    return new Promise((resolve) => this.#waiting.push({ upTo: this.#posted, resolve }));
  }

  /** Waits for the writes handed over, then ends the worker and closes both connections. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.flushed();
    this.#closed = true;
    this.#worker.ref();
    this.#worker.postMessage("close");
    await this.#exited;
    this.#reader.close();
  }

  #wake(): void {
    if (this.#done >= this.#posted && !this.#closed) this.#worker.unref();
    const ready = this.#waiting.filter((w) => this.#done >= w.upTo);
    this.#waiting = this.#waiting.filter((w) => this.#done < w.upTo);
    for (const w of ready) w.resolve();
  }
}
