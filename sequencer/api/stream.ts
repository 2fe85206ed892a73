/**
 * The WebSocket on /v1/stream (`ws`): market data, the caller's private order and fill updates, batch
 * settlement events, and signed order entry.
 *
 * Every server message carries `seq`, counted per connection from 1 with no gaps: a client that sees a
 * jump lost messages and resyncs (`snapshot` for each market; REST for its orders and fills).
 * Bigints are decimal strings.
 *
 * Server -> client:
 *   {"type":"hello","challenge"}                                    first message; what `auth` signs
 *   {"type":"subscribed","channel":"market","marketId","levels"} | {"type":"unsubscribed",...}
 *   {"type":"book","marketId","snapshot":true,"bids","asks"}      top-N view: on subscribe, on `snapshot`,
 *                                                                  and every snapshotIntervalMs
 *   {"type":"book","marketId","snapshot":false,"bids","asks"}     delta: the levels that changed since the
 *       last book message of this market (lots "0": the level left the top N); applyDelta in bookDelta.ts
 *   {"type":"trade","marketId","priceTicks","lots","makerSide","makerAccount","makerOrderId",
 *       "takerAccount","takerOrderId","tradeId","time"}         before the book delta of the same command;
 *       tradeId and time as GET /v1/markets/:id/trades reports the trade (marketTrades.ts)
 *   {"type":"batches","subscribe"}  then  {"type":"batch","batch"}     a batch was proven and posted
 *   {"type":"authenticated","accountId"}  then, for that account only:
 *       {"type":"order","order"} (history.ts OrderStatusView)  and  {"type":"fill","fill"} (FillRecord), and
 *       {"type":"rejected","rejection"} (RejectionRecord): an accepted transaction no batch could prove, and
 *       {"type":"derivatives","report"} (GET /v1/accounts/:id/derivatives less its `liquidation` prices: positions
 *       with PnL, fees and funding paid, margins) after the account's derivatives fills and transfers, and after
 *       every oracle update
 *   {"type":"unauthenticated","accountId","code":"KEY_ROTATED","message"}   the account's trading key is no
 *       longer the one this connection authenticated with (a rotation, taken by the sequencer): the private
 *       messages stop, before any of the rotation's own (its key-rotated cancels); the connection stays open and
 *       may `auth` again, which only the new key passes (keyChanged)
 *   {"type":"result","id","events"}                                an order or cancel took effect
 *   {"type":"error","id"?,"code","message","status"?,"events"?}    same codes as HTTP (server.ts)
 *
 * Client -> server:
 *   {"op":"subscribe","channel":"market","marketId","levels"?} | {"op":"unsubscribe","channel":"market","marketId"}
 *   {"op":"snapshot","marketId"}                                  resend the view of a subscribed market
 *   {"op":"batches","subscribe":true|false}
 *   {"op":"auth","accountId","signature"}     signature of streamAuthMessage({accountId, challenge}) with
 *       the account's trading key: binds to this connection's challenge, so it cannot be replayed; again
 *       after `unauthenticated`, over the same challenge
 *   {"op":"order","id","order"} | {"op":"cancel","id","cancel"}   signed, as the HTTP bodies; `id` echoed
 *   a binary frame: a batch of signed order records (orderFrames.ts) -> {"type":"results","id","results"}
 *       (one item per order, as POST /v1/orders/batch answers) or {"type":"error","id",...} for the frame
 *
 * Stream error codes: MALFORMED, UNKNOWN_MARKET, NOT_SUBSCRIBED, NO_TRADING_KEY, BAD_SIGNATURE,
 * ALREADY_AUTHENTICATED, RATE_LIMITED (every message pays its source's bucket a token per started 2 KiB before it is
 * parsed: CommandGateway.chargeBody), and every order/cancel code. Frames over `maxMessageBytes`
 * close the connection (1009); a client whose unsent data passes `maxBufferedBytes` is disconnected at once (its socket destroyed, its buffer dropped). Every
 * connection is pinged every `heartbeatMs` and dropped if it did not answer the last ping; a source (sourceBucketKey)
 * holds at most `maxConnectionsPerSource` connections (the upgrade beyond is answered 429).
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type RawData, type WebSocket } from "ws";
import type { Depth, EngineEvent } from "../matching/index.ts";
import { streamAuthMessage } from "../protocol/messages.ts";
import { INSTRUMENT_MARKET_BASE } from "../protocol/constants.ts";
import type { ExchangeQuery } from "../service/query.ts";
import type { PublicKey } from "../crypto/babyjub.ts";
import type { PostedBatchView } from "./batchLog.ts";
import { diffDepth, isEmptyDelta } from "../wire/bookDelta.ts";
import { splitOrderFrame } from "../wire/orderFrames.ts";
import type { CommandGateway } from "./commands.ts";
import { sourceBucketKey } from "./rateLimit.ts";
import { ApiError, apiErrorOf, intake, parse } from "./errors.ts";
import type { HistoryChanges, RejectionRecord } from "./history.ts";
import { StreamAuthSchema, StreamRequestSchema, toJson, type StreamRequest } from "../wire/schemas.ts";

export const STREAM_PATH = "/v1/stream";
const DEFAULT_LEVELS = 20;
/** Room for the largest order frame (a full batch of binary records). */
const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024;

type Client = {
  ws: WebSocket;
  seq: number;
  /** Its source's rate-limit and connection key (sourceBucketKey of its address). */
  source: string;
  /** Whether it answered the last heartbeat ping. */
  alive: boolean;
  challenge: bigint;
  accountId: number | null;
  /** The trading key `accountId` authenticated with: its private messages stop when the account's key is another (keyChanged). */
  key: PublicKey | null;
  /** Authentication attempts whose signature did not hold (the connection is closed at MAX_FAILED_AUTHS). */
  failedAuths: number;
  /** Messages received from the client so far: an error answering one carries its number (`ref`), id or not. */
  received: number;
  markets: Map<number, Group>;
  batches: boolean;
};

/** Failed authentications a connection may make before it is closed (code 1008). */
export const MAX_FAILED_AUTHS = 3;

/** The clients of one market at one depth: they share the last view sent, which deltas are taken from. */
type Group = { marketId: number; levels: number; view: Depth; clients: Set<Client> };

export type StreamOptions = {
  maxBufferedBytes?: number;
  maxMessageBytes?: number;
  /** Every subscribed market's view is resent as a snapshot this often (default 30 s; 0: never). */
  snapshotIntervalMs?: number;
  /** Most open connections of one source (its address, an IPv6 address's /64; default 64): beyond, the upgrade is answered 429. */
  maxConnectionsPerSource?: number;
  /** Every connection is pinged this often and closed if it did not answer the last ping (default 30 s; 0: never). */
  heartbeatMs?: number;
};

/** What a book snapshot (a `subscribe` or a `snapshot`) costs of its source's rate-limit bucket. */
export const SNAPSHOT_COST = 10;

/** Bytes of a WebSocket message as it arrived (ws hands over one Buffer, an ArrayBuffer or fragments). */
function byteLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
  return data instanceof ArrayBuffer ? data.byteLength : data.length;
}

/** Default of StreamOptions.maxConnectionsPerSource. */
export const MAX_CONNECTIONS_PER_SOURCE = 64;

export class MarketStream {
  readonly #wss: WebSocketServer;
  readonly #clients = new Set<Client>();
  readonly #groups = new Map<string, Group>();
  readonly #private = new Map<number, Set<Client>>();
  readonly #dirty = new Set<number>();
  #flushScheduled = false;
  readonly #timer: NodeJS.Timeout | null;
  readonly #heartbeat: NodeJS.Timeout | null;
  readonly #maxPerSource: number;
  /** Open connections by source key. */
  readonly #perSource = new Map<string, number>();
  readonly #query: ExchangeQuery;
  readonly #commands: CommandGateway;
  readonly #maxBufferedBytes: number;

  constructor(query: ExchangeQuery, commands: CommandGateway, opts: StreamOptions = {}) {
    this.#query = query;
    this.#commands = commands;
    this.#maxBufferedBytes = opts.maxBufferedBytes ?? 4 * 1024 * 1024;
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES });
    const every = opts.snapshotIntervalMs ?? 30_000;
    this.#timer = every > 0 ? setInterval(() => this.#snapshotAll(), every).unref() : null;
    this.#maxPerSource = opts.maxConnectionsPerSource ?? MAX_CONNECTIONS_PER_SOURCE;
    const beat = opts.heartbeatMs ?? 30_000;
    this.#heartbeat = beat > 0 ? setInterval(() => this.#beat(), beat).unref() : null;
  }

  /** Closes the connections that did not answer the last ping (a peer gone without a FIN holds its socket otherwise) and pings the rest. */
  #beat(): void {
    for (const c of this.#clients) {
      if (!c.alive) {
        c.ws.terminate();
        this.#drop(c);
        continue;
      }
      c.alive = false;
      c.ws.ping();
    }
  }

  /** The HTTP server's 'upgrade' handler: takes /v1/stream, refuses other paths. */
  handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // Node takes its own error handler off a socket it hands to 'upgrade': without one, a client that resets the
    // connection raises an unhandled 'error' (ECONNRESET) and ends the process, settlement with it.
    socket.on("error", () => socket.destroy());
    const path = (req.url ?? "").split("?")[0];
    if (path !== STREAM_PATH) {
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    const source = sourceBucketKey(req.socket.remoteAddress ?? "unknown");
    if ((this.#perSource.get(source) ?? 0) >= this.#maxPerSource) {
      socket.end("HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#connect(ws, source));
  };

  #connect(ws: WebSocket, source: string): void {
    const challenge = BigInt(`0x${randomBytes(16).toString("hex")}`);
    const client: Client = { ws, seq: 0, source, alive: true, challenge, accountId: null, key: null, failedAuths: 0, received: 0, markets: new Map(), batches: false };
    this.#clients.add(client);
    this.#perSource.set(source, (this.#perSource.get(source) ?? 0) + 1);
    ws.on("pong", () => (client.alive = true));
    ws.on("close", () => this.#drop(client));
    ws.on("error", () => ws.terminate());
    ws.on("message", (data: RawData, isBinary: boolean) => {
      // Nothing a message causes may escape into the socket's event: thrown there, it would end the process (review
      // of 2026-12-07: an answer that could not be serialised did, for anyone's message). The connection ends instead.
      try {
        this.#onMessage(client, data, isBinary);
      } catch {
        ws.terminate();
      }
    });
    this.#send(client, { type: "hello", challenge });
  }

  #drop(c: Client): void {
    if (!this.#clients.delete(c)) return; // (dropped already: a close after a terminate)
    const n = (this.#perSource.get(c.source) ?? 1) - 1;
    if (n > 0) this.#perSource.set(c.source, n);
    else this.#perSource.delete(c.source);
    for (const m of [...c.markets.keys()]) this.#leave(c, m);
    const set = c.accountId === null ? undefined : this.#private.get(c.accountId);
    if (set?.delete(c) && set.size === 0) this.#private.delete(c.accountId!); // (publishDerivatives walks the accounts kept)
  }

  #send(c: Client, msg: Record<string, unknown>): void {
    if (c.ws.readyState !== c.ws.OPEN) return;
    if (c.ws.bufferedAmount > this.#maxBufferedBytes) {
      // Dropped at once, its buffer with it: a close frame would wait behind the full buffer, and the socket stay open
      // up to the close timeout, uncounted (review of 2026-12-06: a source could hold many times its connection cap).
      c.ws.terminate();
      this.#drop(c);
      return;
    }
    let text: string;
    try {
      text = toJson({ ...msg, seq: ++c.seq });
    } catch {
      // an answer that cannot be serialised (nothing known does since the MALFORMED answers stopped echoing values,
      // errors.ts reportedIssue) is answered as what it is, with the same ids, instead of throwing into a handler
      const { id, ref } = msg as { id?: unknown; ref?: unknown };
      text = toJson({ type: "error", ...(typeof id === "string" || typeof id === "number" ? { id } : {}), ...(typeof ref === "number" ? { ref } : {}), code: "INTERNAL", message: "internal error", status: 500, seq: c.seq });
    }
    c.ws.send(text);
  }

  /**
   * Answers a message with an error: `id` when the message carried one and it was read, `ref` (the message's number on
   * the connection) when the error answers a message synchronously, so a client can tell which request it refuses
   * even when the message was refused before it was parsed (an empty rate-limit bucket, a malformed message).
   */
  #error(c: Client, error: unknown, id?: string | number, ref?: number): void {
    const e = apiErrorOf(error);
    const to = { ...(id !== undefined && { id }), ...(ref !== undefined && { ref }) };
    if (!e) {
      this.#send(c, { type: "error", ...to, code: "INTERNAL", message: "internal error", status: 500 });
      return;
    }
    this.#send(c, { type: "error", ...to, status: e.statusCode, ...e.body() });
  }

  #onMessage(c: Client, data: RawData, isBinary: boolean): void {
    // Every message pays its source's bucket for its size before it is parsed (CommandGateway.chargeBody; review of
    // 2026-12-06, Low: a malformed message was parsed and refused for free); what it asks for is charged beyond that.
    // An error refusing the message before its id is read carries its number (`ref`): review of 2026-12-06, an
    // order refused by an empty bucket was answered without its id, and the SDK's request never settled.
    const ref = ++c.received;
    let paid: number;
    try {
      paid = this.#commands.chargeBody(c.source, byteLength(data));
    } catch (e) {
      this.#error(c, e, undefined, ref);
      return;
    }
    if (isBinary) {
      this.#onOrderFrame(c, data, paid, ref);
      return;
    }
    let req: StreamRequest;
    try {
      let parsed: unknown;
      try {
        parsed = JSON.parse(data.toString());
      } catch (e) {
        throw new ApiError(400, "MALFORMED", (e as Error).message);
      }
      req = parse(StreamRequestSchema, parsed, "stream request");
    } catch (e) {
      this.#error(c, e, undefined, ref);
      return;
    }
    try {
      this.#handle(c, req, paid, ref);
    } catch (e) {
      this.#error(c, e, "id" in req ? req.id : undefined, ref);
    }
  }

  /** A binary frame: a batch of order records (orderFrames.ts), answered with one `results` message. */
  #onOrderFrame(c: Client, data: RawData, paid: number, ref: number): void {
    let id: number | undefined;
    try {
      const frame = splitOrderFrame(Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data));
      id = frame.id;
      this.#commands.placeOrderRecords(frame.records, c.source, paid).then(
        (r) => this.#send(c, { type: "results", id: frame.id, ...r }),
        (e) => this.#error(c, e, frame.id, ref),
      );
    } catch (e) {
      this.#error(c, e, id, ref);
    }
  }

  /** `paid`: what the message paid for its size (chargeBody), taken off what the request costs. */
  #handle(c: Client, req: StreamRequest, paid: number, ref: number): void {
    // Market-data requests cost the source's bucket too (orders, cancels and auth are charged where they run): a
    // book snapshot answers up to 100 levels a side for a message of 30 bytes.
    if (req.op === "subscribe" || req.op === "snapshot") this.#commands.chargeSource(c.source, SNAPSHOT_COST, paid);
    else if (req.op === "unsubscribe" || req.op === "batches") this.#commands.chargeSource(c.source, 1, paid);
    switch (req.op) {
      case "subscribe": {
        if (!this.#query.market(req.marketId)) throw new ApiError(404, "UNKNOWN_MARKET", `market ${req.marketId} is not registered`);
        this.#leave(c, req.marketId);
        const levels = req.levels ?? DEFAULT_LEVELS;
        const group = this.#join(c, req.marketId, levels);
        this.#send(c, { type: "subscribed", channel: "market", marketId: req.marketId, levels });
        this.#sendSnapshot(c, group);
        return;
      }
      case "unsubscribe":
        this.#leave(c, req.marketId);
        this.#send(c, { type: "unsubscribed", channel: "market", marketId: req.marketId });
        return;
      case "snapshot": {
        const group = c.markets.get(req.marketId);
        if (!group) throw new ApiError(400, "NOT_SUBSCRIBED", `not subscribed to market ${req.marketId}`);
        this.#sendSnapshot(c, group);
        return;
      }
      case "batches":
        c.batches = req.subscribe;
        this.#send(c, { type: "batches", subscribe: req.subscribe });
        return;
      case "auth":
        this.#authenticate(c, req.accountId, req.signature, paid);
        return;
      case "order":
        this.#commands.placeOrder(req.order, c.source, paid).then(
          (r) => this.#send(c, { type: "result", id: req.id, ...r }),
          (e) => this.#error(c, e, req.id, ref),
        );
        return;
      case "cancel":
        this.#commands.cancel(req.cancel, c.source, paid).then(
          (r) => this.#send(c, { type: "result", id: req.id, ...r }),
          (e) => this.#error(c, e, req.id, ref),
        );
        return;
    }
  }

  #authenticate(c: Client, accountId: number, signature: unknown, paid: number): void {
    if (c.accountId !== null) throw new ApiError(400, "ALREADY_AUTHENTICATED", `this connection is authenticated as account ${c.accountId}`);
    const auth = parse(StreamAuthSchema, { accountId, challenge: c.challenge.toString(), signature }, "auth");
    const key = this.#query.tradingKey(accountId);
    if (!key) throw new ApiError(400, "NO_TRADING_KEY", `account ${accountId} has no registered trading key`);
    if (!this.#commands.verifyStreamAuth(c.source, streamAuthMessage(auth), auth.signature, key, paid)) {
      // A signature check is the costly part of a message: a connection gets MAX_FAILED_AUTHS tries, then is closed.
      if (++c.failedAuths >= MAX_FAILED_AUTHS) setImmediate(() => c.ws.close(1008, "too many failed authentications"));
      throw new ApiError(400, "BAD_SIGNATURE", `auth is not signed by account ${accountId}'s trading key over this connection's challenge`);
    }
    intake(() => this.#commands.chargeAccount(accountId)); // only once the account's signature holds
    c.accountId = accountId;
    c.key = key;
    let set = this.#private.get(accountId);
    if (!set) this.#private.set(accountId, (set = new Set()));
    set.add(c);
    this.#send(c, { type: "authenticated", accountId });
  }

  /**
   * Ends the private subscriptions of `accountId` authenticated with a key that is no longer the account's (its key
   * was rotated, say because the old one leaked): each is sent `unauthenticated` (code KEY_ROTATED) and gets nothing
   * private from then on; the connection stays open (market data, batches, signed orders) and may `auth` again, which
   * only the account's key now passes. The server calls it on the sequencer's `key` event, before the rotation's
   * cancels are published; every private message checks it again (#privateOf).
   */
  keyChanged(accountId: number): void {
    const clients = this.#private.get(accountId);
    if (!clients) return;
    const key = this.#query.tradingKey(accountId);
    let stale: Client[] | undefined; // (none, as a rule: this runs before every private message)
    for (const c of clients) if (!key || !c.key || c.key[0] !== key[0] || c.key[1] !== key[1]) (stale ??= []).push(c);
    if (!stale) return;
    for (const c of stale) {
      clients.delete(c);
      c.accountId = null;
      c.key = null;
      this.#send(c, {
        type: "unauthenticated", accountId, code: "KEY_ROTATED",
        message: `account ${accountId}'s trading key is no longer the one this connection authenticated with: its private messages have stopped; authenticate again with the account's current key`,
      });
    }
    if (clients.size === 0) this.#private.delete(accountId);
  }

  /** The account's authenticated clients whose key is still the account's (the others are ended first: keyChanged). */
  #privateOf(accountId: number): Iterable<Client> {
    if (!this.#private.get(accountId)?.size) return [];
    this.keyChanged(accountId);
    return this.#private.get(accountId) ?? [];
  }

  #join(c: Client, marketId: number, levels: number): Group {
    const key = `${marketId}:${levels}`;
    let group = this.#groups.get(key);
    if (!group) {
      group = { marketId, levels, view: this.#query.book(marketId, levels), clients: new Set() };
      this.#groups.set(key, group);
    }
    group.clients.add(c);
    c.markets.set(marketId, group);
    return group;
  }

  #leave(c: Client, marketId: number): void {
    const group = c.markets.get(marketId);
    if (!group) return;
    c.markets.delete(marketId);
    group.clients.delete(c);
    if (group.clients.size === 0) this.#groups.delete(`${group.marketId}:${group.levels}`);
  }

  /** The group's current view: consistent with the deltas that follow it. */
  #sendSnapshot(c: Client, g: Group): void {
    this.#send(c, { type: "book", marketId: g.marketId, snapshot: true, ...g.view });
  }

  #snapshotAll(): void {
    this.#flush();
    for (const g of this.#groups.values()) for (const c of [...g.clients]) this.#sendSnapshot(c, g);
  }

  /** Publishes what one command did: trades now, private updates now, book deltas once per event-loop turn. */
  publish(events: readonly EngineEvent[], changes: HistoryChanges): void {
    if (this.#clients.size === 0) return;
    // history.ts records each fill event, in order, as a maker and a taker fill: the maker's carries the trade's id and time
    const makerFills = changes.fills.filter((f) => f.role === "maker");
    let k = 0;
    for (const e of events) {
      if (e.type === "accepted" || e.type === "fill" || e.type === "cancelled") this.#dirty.add(e.marketId);
      if (e.type !== "fill") continue;
      const rec = makerFills[k++];
      const trade = {
        type: "trade", marketId: e.marketId, priceTicks: e.priceTicks, lots: e.lots, makerSide: e.makerSide,
        makerAccount: e.makerAccount, makerOrderId: e.makerOrderId, takerAccount: e.takerAccount, takerOrderId: e.takerOrderId,
        tradeId: rec?.fillId, time: rec?.time,
      };
      for (const c of this.#clients) if (c.markets.has(e.marketId)) this.#send(c, trade);
    }
    for (const order of changes.orders) for (const c of this.#privateOf(order.accountId)) this.#send(c, { type: "order", order });
    for (const fill of changes.fills) for (const c of this.#privateOf(fill.accountId)) this.#send(c, { type: "fill", fill });
    this.publishDerivatives(new Set(changes.fills.filter((f) => f.marketId >= INSTRUMENT_MARKET_BASE).map((f) => f.accountId)));
    if (this.#dirty.size > 0 && !this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  /** Sends each touched market's delta to its subscribers. */
  #flush(): void {
    this.#flushScheduled = false;
    if (this.#dirty.size === 0) return;
    for (const g of this.#groups.values()) {
      if (!this.#dirty.has(g.marketId)) continue;
      const next = this.#query.book(g.marketId, g.levels);
      const delta = diffDepth(g.view, next);
      g.view = next;
      if (isEmptyDelta(delta)) continue;
      for (const c of [...g.clients]) this.#send(c, { type: "book", marketId: g.marketId, snapshot: false, ...delta });
    }
    this.#dirty.clear();
  }

  /**
   * Sends each account's derivatives report (what GET /v1/accounts/:id/derivatives answers, less the liquidation
   * prices, whose search would cost milliseconds per options account on every oracle update) to its private
   * stream: `accountIds`, or every authenticated account (after an oracle update: marks and funding moved).
   */
  publishDerivatives(accountIds?: Iterable<number>): void {
    for (const accountId of accountIds ?? [...this.#private.keys()]) {
      const clients = [...this.#privateOf(accountId)];
      if (clients.length === 0) continue;
      const report = this.#query.derivativesSummary(accountId); // without the liquidation prices: GET .../derivatives has them
      for (const c of clients) this.#send(c, { type: "derivatives", report });
    }
  }

  /** Sends each rejection to the private stream of its account. */
  publishRejections(records: readonly RejectionRecord[]): void {
    for (const rejection of records) for (const c of this.#privateOf(rejection.accountId)) this.#send(c, { type: "rejected", rejection });
  }

  publishBatch(batch: PostedBatchView): void {
    for (const c of this.#clients) if (c.batches) this.#send(c, { type: "batch", batch });
  }

  /** Closes every connection (server shutdown). */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    for (const c of this.#clients) c.ws.terminate();
    this.#clients.clear();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }
}
