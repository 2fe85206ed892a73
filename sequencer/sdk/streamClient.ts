/**
 * The SDK's WebSocket client of /v1/stream (sequencer/api/stream.ts documents the messages): keeps a
 * copy of each subscribed market's book from snapshots and deltas, authenticates the private channel,
 * sends signed orders and cancels with request ids, and detects gaps in the per-connection sequence
 * numbers. On a gap it marks every book stale, ignores their deltas, and asks for fresh snapshots
 * (`gap` event, then `resynced` per market); orders and fills missed in the gap are the caller's to
 * fetch over REST (ExchangeClient.orders/fills).
 */
import { EventEmitter } from "node:events";
import WebSocket from "ws";
import type { EngineEvent } from "../matching/index.ts";
import type { Cancel, Order, Signed } from "../protocol/messages.ts";
import { applyDelta } from "../wire/bookDelta.ts";
import { signStreamAuth } from "../protocol/signing.ts";
import { ApiRequestError, fromJson, toJson, type BatchItem, type BookView } from "./wire.ts";
import { encodeOrderFrame } from "../wire/orderFrames.ts";

export type StreamMessage = { type: string; seq: number } & Record<string, any>;

export type StreamClientEvents = {
  /** Any message, after the client has processed it. */
  message: [msg: StreamMessage];
  book: [marketId: number, view: BookView, snapshot: boolean];
  trade: [msg: StreamMessage];
  order: [order: Record<string, any>];
  fill: [fill: Record<string, any>];
  batch: [batch: Record<string, any>];
  /** An accepted transaction of the authenticated account that no batch could prove (the API's RejectionRecord). */
  rejected: [rejection: Record<string, any>];
  /** A sequence number was skipped: `expected` was due, `got` arrived. */
  gap: [expected: number, got: number];
  /** A stale market's book is whole again (a snapshot arrived after a gap). */
  resynced: [marketId: number];
  error: [err: Error];
  close: [];
};

export type StreamClientOptions = { timeoutMs?: number };

/** A request waiting for its answer: `ref` is its message's number on the connection (the server's `ref`). */
type Pending = { ref: number; resolve: (v: any) => void; reject: (e: Error) => void };

export class StreamClient extends EventEmitter<StreamClientEvents> {
  readonly #ws: WebSocket;
  readonly #timeoutMs: number;
  #lastSeq = 0;
  #nextId = 1;
  /** Messages sent on this connection: the server numbers them the same way (an error's `ref`). */
  #sent = 0;
  readonly #pending = new Map<string | number, Pending>();
  readonly #books = new Map<number, { levels: number; view: BookView; stale: boolean }>();
  #challenge: bigint | null = null;
  #waiters: { match: (m: StreamMessage) => boolean; resolve: (m: StreamMessage) => void; reject: (e: Error) => void }[] = [];
  /** Gaps seen on this connection. */
  gaps = 0;

  constructor(ws: WebSocket, opts: StreamClientOptions) {
    super();
    this.#ws = ws;
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
    ws.on("message", (data) => this.receive(fromJson<StreamMessage>(data.toString())));
    ws.on("close", () => {
      for (const p of this.#pending.values()) p.reject(new Error("stream closed"));
      this.#pending.clear();
      for (const w of this.#waiters) w.reject(new Error("stream closed"));
      this.#waiters = [];
      this.emit("close");
    });
    ws.on("error", (e) => this.emit("error", e));
  }

  /** Connects and waits for the server's hello (its challenge). */
  static async connect<T extends StreamClient>(this: new (ws: WebSocket, opts: StreamClientOptions) => T, url: string, opts: StreamClientOptions = {}): Promise<T> {
    const ws = new WebSocket(url);
    const client = new this(ws, opts);
    await client.next((m) => m.type === "hello");
    return client;
  }

  /** Resolves with the next message `match` accepts (or rejects after the timeout or on close). */
  next(match: (m: StreamMessage) => boolean): Promise<StreamMessage> {
    return new Promise((resolve, reject) => {
      const w = { match, resolve, reject };
      this.#waiters.push(w);
      const timer = setTimeout(() => {
        if (this.#waiters.includes(w)) {
          this.#waiters = this.#waiters.filter((x) => x !== w);
          reject(new Error("stream: timed out waiting for a message"));
        }
      }, this.#timeoutMs);
      if (typeof timer === "object") timer.unref(); // (a number in a browser, where the web page reuses this client)
    });
  }

  /** Sends a message and returns its number on the connection (what an error answering it carries as `ref`). */
  #send(msg: Record<string, unknown> | Uint8Array): number {
    this.#ws.send(msg instanceof Uint8Array ? msg : toJson(msg));
    return ++this.#sent;
  }

  /** Whether `m` is an error answering the message numbered `ref` (a server before `ref` sent none: any id-less error). */
  static #answers(m: StreamMessage, ref: number): boolean {
    return m.type === "error" && m.id === undefined && (m.ref === undefined || m.ref === ref);
  }

  /** The current copy of a subscribed market's book (undefined before its snapshot). */
  book(marketId: number): BookView | undefined {
    const b = this.#books.get(marketId);
    return b && !b.stale ? b.view : undefined;
  }

  async subscribeMarket(marketId: number, levels = 20): Promise<BookView> {
    this.#books.set(marketId, { levels, view: { bids: [], asks: [] }, stale: true });
    const ref = this.#sent + 1;
    const snap = this.next((m) => (m.type === "book" && m.marketId === marketId && m.snapshot) || StreamClient.#answers(m, ref));
    this.#send({ op: "subscribe", channel: "market", marketId, levels });
    const m = await snap;
    if (m.type === "error") throw new ApiRequestError(m.status, m.code, m.message, m);
    return this.book(marketId)!;
  }

  async subscribeBatches(): Promise<void> {
    const ok = this.next((m) => m.type === "batches");
    this.#send({ op: "batches", subscribe: true });
    await ok;
  }

  /** Opens the private channel: signs the connection's challenge with the trading key. */
  async authenticate(accountId: number, privateKey: Uint8Array): Promise<void> {
    if (this.#challenge === null) throw new Error("stream: no challenge received");
    const { signature } = signStreamAuth(privateKey, { accountId, challenge: this.#challenge });
    const ref = this.#sent + 1;
    const answer = this.next((m) => m.type === "authenticated" || StreamClient.#answers(m, ref));
    this.#send({ op: "auth", accountId, signature });
    const m = await answer;
    if (m.type === "error") throw new ApiRequestError(m.status, m.code, m.message, m);
  }

  #request(op: "order" | "cancel", payload: Record<string, unknown>): Promise<{ events: EngineEvent[] }> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { ref: this.#sent + 1, resolve, reject });
      this.#send({ op, id, ...payload });
    });
  }

  /** Sends a signed order; resolves with its events, rejects with the server's code. */
  placeOrder(order: Signed<Order>): Promise<{ events: EngineEvent[] }> {
    return this.#request("order", { order });
  }

  cancel(cancel: Signed<Cancel>): Promise<{ events: EngineEvent[] }> {
    return this.#request("cancel", { cancel });
  }

  /** Sends up to 100 signed orders in one binary frame; resolves with one result per order. */
  placeOrders(orders: readonly Signed<Order>[]): Promise<{ results: BatchItem[] }> {
    const id = this.#nextId++;
    const frame = encodeOrderFrame(id, orders);
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { ref: this.#sent + 1, resolve, reject });
      this.#send(frame);
    });
  }

  /** Handles one message from the server (protected: tests drop messages here to make gaps). */
  protected receive(m: StreamMessage): void {
    if (m.seq !== this.#lastSeq + 1) this.#onGap(this.#lastSeq + 1, m.seq);
    this.#lastSeq = m.seq;
    switch (m.type) {
      case "hello":
        this.#challenge = m.challenge;
        break;
      case "book":
        this.#onBook(m);
        break;
      case "trade":
        this.emit("trade", m);
        break;
      case "order":
        this.emit("order", m.order);
        break;
      case "fill":
        this.emit("fill", m.fill);
        break;
      case "batch":
        this.emit("batch", m.batch);
        break;
      case "rejected":
        this.emit("rejected", m.rejection);
        break;
      case "result":
      case "results":
      case "error": {
        // by its id; an error refusing a message before its id was read (an empty rate-limit bucket) by its `ref`
        const key = m.id ?? (m.type === "error" && m.ref !== undefined ? [...this.#pending].find(([, q]) => q.ref === m.ref)?.[0] : undefined);
        const p = key !== undefined ? this.#pending.get(key) : undefined;
        if (p) {
          this.#pending.delete(key!);
          if (m.type === "result") p.resolve({ events: m.events });
          else if (m.type === "results") p.resolve({ results: m.results });
          else p.reject(new ApiRequestError(m.status, m.code, m.message, m));
        }
        break;
      }
    }
    this.emit("message", m);
    for (const w of this.#waiters.filter((x) => x.match(m))) {
      this.#waiters = this.#waiters.filter((x) => x !== w);
      w.resolve(m);
    }
  }

  #onGap(expected: number, got: number): void {
    this.gaps++;
    this.emit("gap", expected, got);
    for (const [marketId, b] of this.#books) {
      b.stale = true;
      this.#send({ op: "snapshot", marketId });
    }
  }

  #onBook(m: StreamMessage): void {
    const b = this.#books.get(m.marketId);
    if (!b) return;
    if (m.snapshot) {
      const wasStale = b.stale;
      b.view = { bids: m.bids, asks: m.asks };
      b.stale = false;
      if (wasStale && this.gaps > 0) this.emit("resynced", m.marketId);
    } else if (!b.stale) {
      b.view = applyDelta(b.view, { bids: m.bids, asks: m.asks }, b.levels);
    } else return;
    this.emit("book", m.marketId, b.view, m.snapshot);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#ws.readyState === WebSocket.CLOSED) return resolve();
      this.#ws.once("close", () => resolve());
      this.#ws.close();
    });
  }
}
