/**
 * The embedded durable store: one SQLite file (node:sqlite, no server) in WAL mode.
 *
 *   log(seq INTEGER PRIMARY KEY, body TEXT)        every record, encodeJson text
 *   snapshot(seq INTEGER PRIMARY KEY, body TEXT)   the latest snapshot only
 *   meta(key TEXT PRIMARY KEY, value TEXT)         format version, the deployment the log belongs to, and which log
 *                                                  rules wrote what: "rules" (RulesSegment[] as JSON, a segment added
 *                                                  with the first record a new version appends, in its transaction)
 *                                                  and "snapshotRules" (the latest snapshot's, saved with it)
 *
 * Group commit: the first `append` opens a transaction, `commit` ends it, so one fsync (synchronous=FULL,
 * the default here) makes a whole group of commands durable. `synchronous: "NORMAL"` trades the last
 * transactions before a power cut (never a process crash: WAL survives SIGKILL either way) for speed.
 *
 * `sync: "background"` keeps FULL's guarantee without blocking the caller on the disk: a commit writes
 * the transaction to the write-ahead log (SQLite at synchronous=NORMAL: no fsync), and the store fsyncs
 * the WAL file itself off the JavaScript thread; `synced()` resolves once every commit made before the
 * call is on stable storage, which is when a transaction is durable in WAL mode (FULL fsyncs exactly that
 * file at commit). Commits made while an fsync runs share the next one. `commit(true)` and snapshots
 * still fsync before they return (a proven batch must be durable before it is sent). Checkpoints (copying
 * the WAL into the database file) run on a worker thread too (walCheckpointer.ts), every
 * CHECKPOINT_EVERY_COMMITS commits, instead of inside the commit that crosses SQLite's threshold.
 */
import { closeSync, fsync, fsyncSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import { decodeJson, encodeJson } from "./codec.ts";
import { LOG_RULES_VERSION, type RulesSegment } from "./logRules.ts";
import type { LoggedRecord, LogRecord } from "./records.ts";
import { DatabaseSync } from "./sqlite.ts";
import { WalCheckpointer } from "./walCheckpointer.ts";
import type { SequencerStore, StoredSnapshot } from "./store.ts";

const FORMAT = "sequencer-log/v1";
/** Background sync: commits between two checkpoint requests (about SQLite's 1000-page threshold under load). */
export const CHECKPOINT_EVERY_COMMITS = 256;

export type SqliteStoreOptions = {
  /** FULL (default): durable on power loss. NORMAL: durable on process crash, may lose the last commits on power loss. */
  synchronous?: "FULL" | "NORMAL";
  /** Delete the log records a new snapshot covers (default false: keep the whole log for audits). */
  pruneOnSnapshot?: boolean;
  /** "commit" (default): durable when `commit` returns. "background": durable when `synced()` resolves. */
  sync?: "commit" | "background";
  /** The log rules version appended records and snapshots are written under (default LOG_RULES_VERSION; tests name others). */
  rules?: string;
};

/** The store belongs to another deployment (its identity differs) or is not a sequencer log. */
export class StoreMismatch extends Error {
  readonly code = "STORE_MISMATCH";
}

export class SqliteStore implements SequencerStore {
  readonly path: string;
  readonly rules: string;
  private readonly db: DatabaseSync;
  private readonly opts: SqliteStoreOptions;
  private readonly insert;
  private seq: number;
  private closed = false;
  /** This store's version is the last segment of the header (checked, or added, at the first append). */
  private rulesNoted = false;
  /** Background sync: the WAL file's descriptor, the last committed and the last fsynced seq, who waits. */
  private walFd: number | null = null;
  private committedSeq = 0;
  private syncedSeq = 0;
  private syncing = false;
  private waiting: { seq: number; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private checkpointer: WalCheckpointer | null = null;
  private commitsSinceCheckpoint = 0;
  /** Why the background checkpointer stopped (SQLite's own checkpoints took over), if it did. */
  checkpointFailure: Error | null = null;

  /** Opens (creating if needed) the store at `path`, a file name or ":memory:". */
  constructor(path: string, opts: SqliteStoreOptions = {}) {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    this.path = path;
    this.opts = opts;
    this.rules = opts.rules ?? LOG_RULES_VERSION;
    this.db = new DatabaseSync(path);
    if (opts.sync === "background" && (path === ":memory:" || opts.synchronous === "NORMAL")) {
      throw new Error("background sync needs a file and FULL durability");
    }
    const synchronous = opts.sync === "background" ? "NORMAL" : (opts.synchronous ?? "FULL");
    // busy_timeout: wait out another connection's short lock (a checkpoint still finishing on the worker of a
    // store just closed in this process) instead of failing at once; the log's writer is never blocked otherwise
    this.db.exec(`PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA synchronous = ${synchronous};`);
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
    this.committedSeq = this.syncedSeq = this.seq;
    if (opts.sync === "background") {
      this.walFd = openSync(`${path}-wal`, "r"); // the WAL exists while a connection is open (the writes above made it)
      fsyncSync(this.walFd); // whatever an earlier process left unsynced
      this.db.exec("PRAGMA wal_autocheckpoint = 0");
      this.checkpointer = new WalCheckpointer(path, (e) => this.checkpointerFailed(e));
    }
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
   * chain would post nonsense). `key` names another such binding kept beside it (the process's "settings": what
   * replaying the log reads from the process's options, so a restart with other values would rebuild other batches).
   */
  bind(identity: Record<string, string>, key = "identity"): void {
    const text = JSON.stringify(Object.fromEntries(Object.entries(identity).sort(([a], [b]) => a.localeCompare(b))));
    const stored = this.meta(key);
    if (stored === undefined) this.setMeta(key, text);
    else if (stored !== text) throw new StoreMismatch(`${this.path} belongs to ${key === "identity" ? "" : `${key} `}${stored}, not ${text}`);
  }

  get lastSeq(): number {
    return this.seq;
  }

  append(record: LogRecord): number {
    if (!this.db.isTransaction) this.db.exec("BEGIN");
    if (!this.rulesNoted) this.noteRules(this.seq + 1);
    this.insert.run(++this.seq, encodeJson(record));
    return this.seq;
  }

  rulesSegments(): RulesSegment[] {
    const text = this.meta("rules");
    if (text === undefined) return [];
    const valid = (s: unknown): s is RulesSegment => typeof (s as RulesSegment)?.rules === "string" && Number.isSafeInteger((s as RulesSegment).fromSeq);
    let segments: unknown;
    try {
      segments = JSON.parse(text);
    } catch {
      segments = null;
    }
    if (!Array.isArray(segments) || !segments.every(valid)) throw new StoreMismatch(`${this.path}: its log rules header is not a list of { rules, fromSeq }: ${text}`);
    return segments;
  }

  /** Within the open transaction of the first append: records from `fromSeq` on are this store's version's. */
  private noteRules(fromSeq: number): void {
    const segments = this.rulesSegments();
    if (segments.at(-1)?.rules !== this.rules) this.setMeta("rules", JSON.stringify([...segments, { rules: this.rules, fromSeq }]));
    this.rulesNoted = true;
  }

  commit(now = false): void {
    if (!this.db.isTransaction) return;
    this.db.exec("COMMIT");
    this.committedSeq = this.seq;
    if (this.walFd === null) this.syncedSeq = this.committedSeq; // synced by COMMIT itself (FULL or NORMAL as configured)
    else if (now) this.syncNow();
    else this.startSync();
    if (this.checkpointer && ++this.commitsSinceCheckpoint >= CHECKPOINT_EVERY_COMMITS) {
      this.commitsSinceCheckpoint = 0;
      this.checkpointer.request();
    }
  }

  /** Checkpoints requested and completed by the background checkpointer. */
  get checkpoints(): number {
    return this.checkpointer?.done ?? 0;
  }

  /** The worker failed: SQLite's automatic checkpoints take over again, so the WAL cannot grow forever. */
  private checkpointerFailed(e: Error): void {
    this.checkpointFailure = e;
    this.checkpointer?.close();
    this.checkpointer = null;
    if (!this.closed) this.db.exec("PRAGMA wal_autocheckpoint = 1000");
  }

  /** Resolves once every record committed so far is on stable storage (at once with sync "commit"). */
  synced(): Promise<void> {
    if (this.syncedSeq >= this.committedSeq) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiting.push({ seq: this.committedSeq, resolve, reject }));
  }

  private syncNow(): void {
    fsyncSync(this.walFd!);
    this.markSynced(this.committedSeq);
  }

  /** One background fsync of the WAL at a time, covering every commit made before it starts. */
  private startSync(): void {
    if (this.syncing || this.syncedSeq >= this.committedSeq) return;
    this.syncing = true;
    const target = this.committedSeq;
    fsync(this.walFd!, (err) => {
      this.syncing = false;
      if (this.closed) {
        closeSync(this.walFd!); // close() synced everything and left the descriptor to this callback
        return;
      }
      if (err) {
        for (const w of this.waiting.splice(0)) w.reject(err);
        return;
      }
      this.markSynced(target);
      this.startSync();
    });
  }

  private markSynced(seq: number): void {
    this.syncedSeq = Math.max(this.syncedSeq, seq);
    const done = this.waiting.filter((w) => w.seq <= this.syncedSeq);
    this.waiting = this.waiting.filter((w) => w.seq > this.syncedSeq);
    for (const w of done) w.resolve();
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
      this.setMeta("snapshotRules", this.rules);
      if (this.opts.pruneOnSnapshot) this.db.prepare("DELETE FROM log WHERE seq <= ?").run(seq);
      this.db.exec("COMMIT");
      if (this.walFd !== null) fsyncSync(this.walFd);
    } catch (e) {
      this.db.exec("ROLLBACK");
      throw e;
    }
  }

  latestSnapshot(): StoredSnapshot | null {
    const row = this.db.prepare("SELECT seq, body FROM snapshot ORDER BY seq DESC LIMIT 1").get() as { seq: number; body: string } | undefined;
    return row ? { seq: row.seq, body: decodeJson(row.body), rules: this.meta("snapshotRules") ?? null } : null;
  }

  /** Closes the file (once; later calls do nothing); records appended but not committed are dropped, as a crash would drop them. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.db.isTransaction) this.db.exec("ROLLBACK");
    if (this.walFd !== null) {
      this.syncNow();
      if (!this.syncing) closeSync(this.walFd);
    }
    this.checkpointer?.close();
    this.db.close();
  }
}
