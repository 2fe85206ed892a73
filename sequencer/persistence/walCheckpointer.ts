/**
 * Checkpoints a SQLite WAL from a worker thread with its own connection, so the writer never does it.
 *
 * SQLite's automatic checkpoint runs inside the COMMIT that crosses 1000 WAL pages: it copies the pages
 * into the database file and fsyncs it, holding the committing thread for several milliseconds (measured
 * up to 7 ms under `npm run bench:api`, every few thousand orders: the API's slowest answers). A PASSIVE
 * checkpoint from another connection does the same work concurrently with the writer (WAL mode lets
 * readers, a writer and a checkpointer run at once) and never blocks it. The writer turns its automatic
 * checkpoint off (`PRAGMA wal_autocheckpoint = 0`) and asks for one here instead.
 */
import { Worker } from "node:worker_threads";
import { sqliteWorkerSource } from "./sqlite.ts";

/** The worker: one connection, one PASSIVE checkpoint per request. */
const WORKER_SOURCE = sqliteWorkerSource("", `db.exec("PRAGMA wal_checkpoint(PASSIVE)");`);

export class WalCheckpointer {
  readonly #worker: Worker;
  readonly #onError: (e: Error) => void;
  #running = false;
  #again = false;
  #closed = false;
  /** Checkpoints completed (for tests and benchmarks). */
  done = 0;

  /** Starts the worker on the database at `path`; `onError` hears a failed checkpoint or a dead worker. */
  constructor(path: string, onError: (e: Error) => void) {
    this.#onError = onError;
    this.#worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path } });
    this.#worker.on("message", (m: { ok: boolean; error?: string }) => {
      this.#running = false;
      if (m.ok) this.done++;
      else this.#onError(new Error(`WAL checkpoint failed: ${m.error}`));
      if (this.#again) this.request();
    });
    this.#worker.on("error", (e) => this.#fail(e));
    this.#worker.on("exit", (code) => {
      if (!this.#closed) this.#fail(new Error(`the WAL checkpointer exited (${code})`));
    });
    this.#worker.unref(); // never keeps the process alive (after the listeners: adding one refs the port again)
  }

  /** Asks for a checkpoint: one runs at a time, and requests made meanwhile run once after it. */
  request(): void {
    if (this.#closed) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#again = false;
    this.#running = true;
    this.#worker.postMessage("checkpoint");
  }

  /** Closes the worker's connection and ends it (it finishes a checkpoint in progress first). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#worker.postMessage("close");
  }

  #fail(e: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#onError(e);
  }
}
