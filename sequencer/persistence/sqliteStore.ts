/**
 * The embedded durable store: one SQLite file (node:sqlite, no server) in WAL mode.
 *
 *   log(seq INTEGER PRIMARY KEY, body TEXT)        every record, encodeJson text
 *   snapshot(seq INTEGER PRIMARY KEY, body TEXT)   the latest snapshot only
 *   meta(key TEXT PRIMARY KEY, value TEXT)         format version and the deployment the log belongs to
 *
 * Group commit: the first `append` opens a transaction, `commit` ends it, so one fsync (synchronous=FULL,
 * the default here) makes a whole group of commands durable. `synchronous: "NORMAL"` trades the last
 * transactions before a power cut (never a process crash: WAL survives SIGKILL either way) for speed.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { decodeJson, encodeJson } from "./codec.ts";
import type { LoggedRecord, LogRecord } from "./records.ts";
import { DatabaseSync } from "./sqlite.ts";
import type { SequencerStore, StoredSnapshot } from "./store.ts";

const FORMAT = "sequencer-log/v1";

export type SqliteStoreOptions = {
  /** FULL (default): durable on power loss. NORMAL: durable on process crash, may lose the last commits on power loss. */
  synchronous?: "FULL" | "NORMAL";
  /** Delete the log records a new snapshot covers (default false: keep the whole log for audits). */
  pruneOnSnapshot?: boolean;
};

/** The store belongs to another deployment (its identity differs) or is not a sequencer log. */
export class StoreMismatch extends Error {
  readonly code = "STORE_MISMATCH";
}

export class SqliteStore implements SequencerStore {
  readonly path: string;
  private readonly db: DatabaseSync;
  private readonly opts: SqliteStoreOptions;
  private readonly insert;
  private seq: number;
  private closed = false;

  /** Opens (creating if needed) the store at `path`, a file name or ":memory:". */
  constructor(path: string, opts: SqliteStoreOptions = {}) {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    this.path = path;
    this.opts = opts;
    this.db = new DatabaseSync(path);
    this.db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = ${opts.synchronous ?? "FULL"};`);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS log (seq INTEGER PRIMARY KEY, body TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS snapshot (seq INTEGER PRIMARY KEY, body TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    `);
    const format = this.meta("format");
    if (format === undefined) this.setMeta("format", FORMAT);
    else if (format !== FORMAT) throw new StoreMismatch(`${path} holds ${format}, not ${FORMAT}`);
    this.insert = this.db.prepare("INSERT INTO log (seq, body) VALUES (?, ?)");
    const last = (sql: string) => Number((this.db.prepare(sql).get() as { s: number | null }).s ?? 0);
    this.seq = Math.max(last("SELECT MAX(seq) AS s FROM log"), last("SELECT MAX(seq) AS s FROM snapshot"));
  }

  private meta(key: string): string | undefined {
    return (this.db.prepare("SELECT value FROM meta WHERE key = ?").get(key) as { value: string } | undefined)?.value;
  }

  private setMeta(key: string, value: string): void {
    this.db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)").run(key, value);
  }

  /**
   * Ties the store to a deployment (chain id, custodian, circuit parameters...): the first call records
   * `identity`, later opens must pass the same one or get StoreMismatch (a log replayed against another
   * chain would post nonsense).
   */
  bind(identity: Record<string, string>): void {
    const text = JSON.stringify(Object.fromEntries(Object.entries(identity).sort(([a], [b]) => a.localeCompare(b))));
    const stored = this.meta("identity");
    if (stored === undefined) this.setMeta("identity", text);
    else if (stored !== text) throw new StoreMismatch(`${this.path} belongs to ${stored}, not ${text}`);
  }

  get lastSeq(): number {
    return this.seq;
  }

  append(record: LogRecord): number {
    if (!this.db.isTransaction) this.db.exec("BEGIN");
    this.insert.run(++this.seq, encodeJson(record));
    return this.seq;
  }

  commit(): void {
    if (this.db.isTransaction) this.db.exec("COMMIT");
  }

  *records(afterSeq = 0): Iterable<LoggedRecord> {
    const rows = this.db.prepare("SELECT seq, body FROM log WHERE seq > ? ORDER BY seq").iterate(afterSeq);
    for (const row of rows as Iterable<{ seq: number; body: string }>) yield { seq: row.seq, record: decodeJson<LogRecord>(row.body) };
  }

  saveSnapshot(seq: number, body: unknown): void {
    if (this.db.isTransaction) throw new Error("commit the log before saving a snapshot");
    if (!Number.isSafeInteger(seq) || seq < 0 || seq > this.seq) throw new RangeError(`snapshot seq ${seq} outside the log (last ${this.seq})`);
    this.db.exec("BEGIN");
    try {
      this.db.prepare("DELETE FROM snapshot").run();
      this.db.prepare("INSERT INTO snapshot (seq, body) VALUES (?, ?)").run(seq, encodeJson(body));
      if (this.opts.pruneOnSnapshot) this.db.prepare("DELETE FROM log WHERE seq <= ?").run(seq);
      this.db.exec("COMMIT");
    } catch (e) {
      this.db.exec("ROLLBACK");
      throw e;
    }
  }

  latestSnapshot(): StoredSnapshot | null {
    const row = this.db.prepare("SELECT seq, body FROM snapshot ORDER BY seq DESC LIMIT 1").get() as { seq: number; body: string } | undefined;
    return row ? { seq: row.seq, body: decodeJson(row.body) } : null;
  }

  /** Closes the file (once; later calls do nothing); records appended but not committed are dropped, as a crash would drop them. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.db.isTransaction) this.db.exec("ROLLBACK");
    this.db.close();
  }
}
