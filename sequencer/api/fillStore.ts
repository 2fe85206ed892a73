/**
 * Where the API keeps its trade history across restarts: every fill the account history (history.ts)
 * records, both sides of each trade, with the rejection code of a trade no batch could prove. On start
 * the server reads back each account's newest fills and each market's newest trades, and new fills
 * continue the stored fill ids, so `GET /v1/accounts/:id/fills` and `GET /v1/markets/:id/trades` answer
 * after a restart as before it (sequencer/process/main.ts keeps the store beside the command log, in
 * `history.db`). The store keeps the whole history: a page older than what the in-memory indexes hold
 * is read from it (`olderPage`), so a client pages back to the account's first fill. It keeps the index's order records
 * and rejections too (`loadRecords`), so closed orders and rejections are listed again after a restart.
 *
 * Every read is an index search, never a scan of the table: the start-up read costs a few searches per
 * account and market that has traded, whatever the history's length (`test/sequencer/api/fillStore.test.ts`
 * reads SQLite's query plans).
 *
 * It is a read model of the command log, written after it: the server appends a command's fills once the
 * sequencer has made that command durable (Sequencer.durable), so the history never shows a trade whose
 * order a crash lost. A crash between the log's sync and this store's write can leave out the fills of
 * the commands of that moment (the replayed log restores their state, not their history); the proven
 * batches hold every trade that settled.
 */
import { DatabaseSync } from "../persistence/sqlite.ts";
import type { Side } from "../protocol/constants.ts";
import { decodeJson, encodeJson } from "../persistence/codec.ts";
import type { FillRecord, OrderStatusView, RejectionRecord } from "./history.ts";

/** What a store gives back on start: fills oldest first, and the highest fill id it holds (0 when empty). */
export type StoredFills = {
  /** Each account's newest fills (at most `perAccount` each). */
  accountFills: FillRecord[];
  /** Each market's newest trades, as the maker's fills (at most `perMarket` each). */
  marketTrades: FillRecord[];
  lastFillId: number;
};

/** What a store gives back on start besides the fills: each account's newest order records and rejections, oldest first. */
export type StoredRecords = {
  /** Each account's newest order records (at most `perAccount`), in the order the index first saw them. */
  orders: OrderStatusView[];
  /** Each account's newest rejections (at most `perAccount`), oldest first. */
  rejections: RejectionRecord[];
  /** The highest rejection id stored (0 when none): new rejections continue after it. */
  lastRejectionId: number;
};

/**
 * One change to the stored history: fills to add (new fill ids); one account's side of a stored fill marked
 * as not settled (the rejection's code); order records as they now stand (added, or replacing the account's
 * record of that order id); rejections to add.
 */
export type HistoryWrite =
  | { fills: readonly FillRecord[] }
  | { rejected: { fillId: number; accountId: number; code: string } }
  | { orders: readonly OrderStatusView[] }
  | { rejections: readonly RejectionRecord[] };

export interface FillStore {
  /** The newest fills per account and per market (see StoredFills). */
  load(perAccount: number, perMarket: number): StoredFills;
  /** The newest order records and rejections per account (see StoredRecords). */
  loadRecords(perAccount: number): StoredRecords;
  /** The account's fills, newest first, at most `limit`; with `before` only those with a smaller fill id. */
  accountFills(accountId: number, limit: number, before?: number): FillRecord[];
  /** The market's trades as their makers' fills, newest first, at most `limit`; with `before` only older ones. */
  marketTrades(marketId: number, limit: number, before?: number): FillRecord[];
  /** Applies `writes` in order, in one transaction: all of them or none (a background store: once written, `flushed`). */
  write(writes: readonly HistoryWrite[]): void;
  close(): void | Promise<void>;
}

type Row = {
  fill_id: number; account_id: number; order_id: string; market_id: number; side: number; role: string;
  price_ticks: string; lots: string; fee_ppm: number; time: number; rejected: string | null;
};

const fillOf = (r: Row): FillRecord => ({
  fillId: r.fill_id, accountId: r.account_id, orderId: BigInt(r.order_id), marketId: r.market_id, side: r.side as Side,
  role: r.role as FillRecord["role"], priceTicks: BigInt(r.price_ticks), lots: BigInt(r.lots), feePpm: r.fee_ppm, time: r.time,
  ...(r.rejected === null ? {} : { rejected: r.rejected }),
});

/** Rows newest first: at most `limit` of those matching `where` (an indexed column = ?) with a fill id below `before`. */
const NEWEST = (where: string) => `SELECT * FROM fills WHERE ${where} AND fill_id < ? ORDER BY fill_id DESC, role DESC LIMIT ?`;
/** Every distinct value of an indexed column of a table, one index search each (SQLite's skip-scan by recursion). */
const DISTINCT = (column: string, table = "fills") =>
  `WITH RECURSIVE v(x) AS (SELECT MIN(${column}) FROM ${table} UNION ALL SELECT (SELECT MIN(${column}) FROM ${table} WHERE ${column} > v.x) FROM v WHERE v.x IS NOT NULL)
   SELECT x FROM v WHERE x IS NOT NULL`;
/** Above every fill id (fill ids are JavaScript numbers). */
const NO_BOUND = Number.MAX_SAFE_INTEGER;

/** Every query the store runs to read (the tests check each one's plan). */
export const STORE_QUERIES = {
  accountFills: NEWEST("account_id = ?"),
  marketTrades: NEWEST("market_id = ? AND role = 'maker'"),
  accounts: DISTINCT("account_id"),
  markets: DISTINCT("market_id"),
  lastFillId: "SELECT MAX(fill_id) AS id FROM fills",
  orderAccounts: DISTINCT("account_id", "orders"),
  accountOrders: "SELECT record FROM orders WHERE account_id = ? ORDER BY rowid DESC LIMIT ?",
  rejectionAccounts: DISTINCT("account_id", "rejections"),
  accountRejections: "SELECT record FROM rejections WHERE account_id = ? ORDER BY rejection_id DESC LIMIT ?",
  lastRejectionId: "SELECT MAX(rejection_id) AS id FROM rejections",
} as const;

/**
 * The tables and their indexes (every connection to `history.db` runs it first). Fills are columns (their
 * pages are queried by account, market and id); order records and rejections are the index's own records
 * in the log's JSON encoding (persistence/codec.ts), keyed by account: an order's row keeps its rowid when
 * its record is replaced, so rowid order is the order in which the index first saw the orders.
 */
export const SCHEMA_SQL = `PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
  CREATE TABLE IF NOT EXISTS fills (
    fill_id INTEGER NOT NULL, account_id INTEGER NOT NULL, order_id TEXT NOT NULL, market_id INTEGER NOT NULL,
    side INTEGER NOT NULL, role TEXT NOT NULL, price_ticks TEXT NOT NULL, lots TEXT NOT NULL, fee_ppm INTEGER NOT NULL,
    time INTEGER NOT NULL, rejected TEXT, PRIMARY KEY (fill_id, role)) WITHOUT ROWID;
  DROP INDEX IF EXISTS fills_by_account;
  CREATE INDEX IF NOT EXISTS fills_by_account_fill ON fills (account_id, fill_id, role);
  CREATE INDEX IF NOT EXISTS fills_by_market ON fills (market_id, fill_id);
  CREATE TABLE IF NOT EXISTS orders (account_id INTEGER NOT NULL, order_id TEXT NOT NULL, record TEXT NOT NULL, UNIQUE (account_id, order_id));
  CREATE INDEX IF NOT EXISTS orders_by_account ON orders (account_id);
  CREATE TABLE IF NOT EXISTS rejections (
    rejection_id INTEGER NOT NULL, account_id INTEGER NOT NULL, record TEXT NOT NULL, PRIMARY KEY (account_id, rejection_id)) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS rejections_by_id ON rejections (rejection_id);`;
/** The statements a write runs, by name (the background writer's worker prepares the same ones). */
export const WRITE_SQL = {
  fill: "INSERT INTO fills (fill_id, account_id, order_id, market_id, side, role, price_ticks, lots, fee_ppm, time, rejected) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
  reject: "UPDATE fills SET rejected = ? WHERE fill_id = ? AND account_id = ?",
  order: "INSERT INTO orders (account_id, order_id, record) VALUES (?, ?, ?) ON CONFLICT (account_id, order_id) DO UPDATE SET record = excluded.record",
  rejection: "INSERT INTO rejections (rejection_id, account_id, record) VALUES (?, ?, ?)",
} as const;

type SqlValue = string | number | null;
/** A write as the statements take it: one of WRITE_SQL and the parameters of each row it runs. */
export type WriteRows = { sql: keyof typeof WRITE_SQL; rows: SqlValue[][] };
export function writeRows(w: HistoryWrite): WriteRows {
  if ("rejected" in w) return { sql: "reject", rows: [[w.rejected.code, w.rejected.fillId, w.rejected.accountId]] };
  if ("orders" in w) return { sql: "order", rows: w.orders.map((o) => [o.accountId, o.orderId.toString(), encodeJson(o)]) };
  if ("rejections" in w) return { sql: "rejection", rows: w.rejections.map((r) => [r.rejectionId, r.accountId, encodeJson(r)]) };
  return {
    sql: "fill",
    rows: w.fills.map((f) => [
      f.fillId, f.accountId, f.orderId.toString(), f.marketId, f.side, f.role, f.priceTicks.toString(), f.lots.toString(), f.feePpm, f.time, f.rejected ?? null,
    ]),
  };
}

type Statements = Record<keyof typeof WRITE_SQL, ReturnType<DatabaseSync["prepare"]>>;

/** The embedded store: one SQLite table, WAL; writes on the calling thread (backgroundFillStore.ts moves them to a worker). */
export class SqliteFillStore implements FillStore {
  readonly #db: DatabaseSync;
  readonly #statements: Statements;
  /** STORE_QUERIES' statements, prepared on first use (a page request runs one). */
  readonly #reads = new Map<string, ReturnType<DatabaseSync["prepare"]>>();

  constructor(path: string) {
    this.#db = new DatabaseSync(path);
    this.#db.exec(SCHEMA_SQL);
    this.#statements = Object.fromEntries(Object.entries(WRITE_SQL).map(([name, sql]) => [name, this.#db.prepare(sql)])) as Statements;
  }

  load(perAccount: number, perMarket: number): StoredFills {
    const oldestFirst = (fills: FillRecord[]) => fills.sort((a, b) => a.fillId - b.fillId || a.role.localeCompare(b.role));
    return {
      accountFills: oldestFirst(this.#ids("accounts").flatMap((a) => this.accountFills(a, perAccount))),
      marketTrades: oldestFirst(this.#ids("markets").flatMap((m) => this.marketTrades(m, perMarket))),
      lastFillId: this.#max("lastFillId"),
    };
  }

  loadRecords(perAccount: number): StoredRecords {
    const records = <T>(query: keyof typeof STORE_QUERIES, accountId: number) =>
      (this.#read(query).all(accountId, perAccount) as { record: string }[]).map((r) => decodeJson<T>(r.record)).reverse();
    return {
      orders: this.#ids("orderAccounts").flatMap((a) => records<OrderStatusView>("accountOrders", a)),
      rejections: this.#ids("rejectionAccounts").flatMap((a) => records<RejectionRecord>("accountRejections", a)),
      lastRejectionId: this.#max("lastRejectionId"),
    };
  }

  accountFills(accountId: number, limit: number, before = NO_BOUND): FillRecord[] {
    return (this.#read("accountFills").all(accountId, before, limit) as Row[]).map(fillOf);
  }

  marketTrades(marketId: number, limit: number, before = NO_BOUND): FillRecord[] {
    return (this.#read("marketTrades").all(marketId, before, limit) as Row[]).map(fillOf);
  }

  #read(query: keyof typeof STORE_QUERIES): ReturnType<DatabaseSync["prepare"]> {
    let statement = this.#reads.get(query);
    if (!statement) this.#reads.set(query, (statement = this.#db.prepare(STORE_QUERIES[query])));
    return statement;
  }

  /** The values of a DISTINCT query (column x). */
  #ids(query: keyof typeof STORE_QUERIES): number[] {
    return (this.#read(query).all() as { x: number }[]).map((r) => r.x);
  }

  /** The value of a MAX query (column id), 0 on an empty table. */
  #max(query: keyof typeof STORE_QUERIES): number {
    return (this.#read(query).get() as { id: number | null }).id ?? 0;
  }

  /** SQLite's plan for one of STORE_QUERIES, its parameters bound to 1 (the tests read it: no query scans the table). */
  queryPlan(sql: string): string[] {
    const params = Array.from({ length: (sql.match(/\?/g) ?? []).length }, () => 1);
    return (this.#db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((r) => r.detail);
  }

  write(writes: readonly HistoryWrite[]): void {
    if (!writes.length) return;
    this.#db.exec("BEGIN");
    try {
      for (const w of writes.map(writeRows)) for (const row of w.rows) this.#statements[w.sql].run(...row);
      this.#db.exec("COMMIT");
    } catch (e) {
      this.#db.exec("ROLLBACK");
      throw e;
    }
  }

  /** Adds fills (one write). */
  append(fills: readonly FillRecord[]): void {
    this.write([{ fills }]);
  }

  /** Marks the account's side of a stored fill as not settled (one write). */
  markRejected(fillId: number, accountId: number, code: string): void {
    this.write([{ rejected: { fillId, accountId, code } }]);
  }

  close(): void {
    this.#db.close();
  }
}

/**
 * One page of a history served newest first from memory, completed from the store when the memory's page
 * is short: `memory` is the in-memory index's page (newest first, at most `limit`, ids below `before`),
 * which holds the newest part of the history; `older(limit, before)` reads the store below an id. The store
 * holds every fill written so far, so the page continues below the memory's oldest item without a gap
 * (except for fills of the last moment that the memory already dropped and the writer has not yet written:
 * over a thousand fills of one account within one durability wait).
 */
export function olderPage<T>(memory: T[], limit: number, before: number | undefined, id: (t: T) => number, older: (limit: number, before?: number) => T[]): T[] {
  if (memory.length >= limit) return memory;
  const below = memory.length ? id(memory[memory.length - 1]!) : before;
  return [...memory, ...older(limit - memory.length, below)];
}

/**
 * Writes to a FillStore what the account history records, once the commands behind it are durable: each
 * write waits for `durable` (Sequencer.durable) called after the command's log record was appended (the
 * engine's events come while the command applies, its record is appended right after, in the same turn).
 * Writes keep their order; everything handed over while one durability wait was on goes to the store as one
 * transaction (under load, one per group commit of the log, not one per command). `onError` hears a failed
 * transaction (the trades stand; only the history of that group is lost).
 */
export class FillWriter {
  readonly #store: FillStore;
  readonly #durable: () => Promise<void>;
  readonly #onError: (e: unknown) => void;
  #pending: HistoryWrite[] = [];
  #running: Promise<void> | null = null;

  constructor(store: FillStore, durable: () => Promise<void>, onError: (e: unknown) => void) {
    this.#store = store;
    this.#durable = durable;
    this.#onError = onError;
  }

  fills(fills: readonly FillRecord[]): void {
    if (fills.length) this.#enqueue({ fills });
  }

  /** Order records as one command left them (HistoryChanges.orders). */
  orders(orders: readonly OrderStatusView[]): void {
    if (orders.length) this.#enqueue({ orders });
  }

  /** Rejections of accepted transactions (AccountHistory.recordRejection). */
  rejections(rejections: readonly RejectionRecord[]): void {
    if (rejections.length) this.#enqueue({ rejections });
  }

  fillRejected(f: FillRecord, code: string): void {
    this.#enqueue({ rejected: { fillId: f.fillId, accountId: f.accountId, code } });
  }

  /** Resolves once everything handed over so far is written. */
  async flushed(): Promise<void> {
    while (this.#running) await this.#running;
  }

  #enqueue(w: HistoryWrite): void {
    this.#pending.push(w);
    this.#running ??= this.#run();
  }

  async #run(): Promise<void> {
    while (this.#pending.length) {
      await new Promise<void>((r) => setImmediate(r)); // past the command's own log append
      const writes = this.#pending;
      this.#pending = [];
      try {
        await this.#durable();
        this.#store.write(writes);
      } catch (e) {
        this.#onError(e);
      }
    }
    this.#running = null;
  }
}
