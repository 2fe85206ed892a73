/**
 * The exchange's network API: HTTP JSON routes over a Sequencer, and the WebSocket (stream.ts). The API
 * validates shapes, rate-limits and calls the Sequencer; signatures, order-id slots, nonces, matching
 * and risk are decided there (commands.ts). Orders from every route and the WebSocket are grouped so
 * their signatures verify in batches (orderIntake.ts).
 *
 * Writes (signed by the account's trading key; replay protection: order ids only grow per storage slot,
 * a cancel only cancels a live order, withdrawal nonces count up):
 *   POST /v1/orders            a signed order                              -> {events}
 *   POST /v1/orders/batch      {orders: [..up to 100]}                     -> {results: [{status, events | code, message}]}
 *                              or, as application/octet-stream, up to 100 binary order records (orderFrames.ts)
 *   POST /v1/cancels           a signed cancel                             -> {events}
 *   POST /v1/cancels/batch     {cancels: [..up to 100]}  (cancel-all: one signed cancel per live order; the
 *                              circuit proves each cancel by its own signature)  -> {results}
 *   POST /v1/withdrawals       a signed withdrawal                         -> {status: "accepted", ...}
 *   POST /v1/transfers         a signed transfer between spot quote and derivatives collateral
 *                              (nonce shared with withdrawals)             -> {status: "accepted", ...}
 *   POST /v1/oracle/updates    a signed oracle update (under the custodian's oracle key; the feeder)
 *                                                                          -> {fundingTick, settled, liquidations, deleveraged, cancelled}
 * Reads:
 *   GET /v1/health                      200 {status: "ok", ...}, or 503 {status: "failing", code: SETTLEMENT_FAILING,
 *                                      problems: [...]} while batch attempts fail or no prover device is healthy
 *   GET /v1/markets | /v1/markets/:id/book?levels
 *   GET /v1/markets/:id/trades?limit&before   the market's trades, newest first (marketTrades.ts; older pages from the fill store)
 *   GET /v1/keys/typed-data?keyIndex   the EIP-712 message a wallet signs to derive its trading key
 *   GET /v1/accounts/:id               balances (balance, reserved, available), open orders (resting: status
 *                                      "open"; stop/take-profit orders held until their trigger: "held"), derivatives
 *                                      positions, the next withdrawal/transfer nonce
 *   GET /v1/accounts/:id/derivatives   collateral, equity, margin used, positions with PnL and Greeks
 *   GET /v1/instruments                the instrument table with marks at the latest oracle update
 *   GET /v1/treasury                   the fee pool, the insurance fund and the open bad debt of the proven state
 *   GET /v1/accounts/:id/key           the registered trading key (null when none)
 *   GET /v1/accounts/:id/orders?status&limit | /v1/accounts/:id/orders/:orderId | /v1/accounts/:id/fills?limit&before
 *   GET /v1/accounts/:id/rejections?limit   accepted transactions of the account that no batch could prove
 *                                      (taken out of the queue: code, message, what; history.ts)
 *   GET /v1/batches?limit | /v1/batches/:n        posted batches: tx hash, proof, timings
 * Account reads are public, as the account's trades are in the batches' public data anyway.
 *
 * Bigints travel as decimal strings (schemas.ts). Errors are always {code, message[, issues|events]}:
 *   400 MALFORMED         body/params/query not of the documented shape, a field outside its width, a
 *                          batch over 100 items (the zod issues are in `issues`, without the values sent); also
 *                          unparsable JSON, and a path the router refuses (a parameter over 100 characters, or one
 *                          that does not URL-decode)
 *   400 UNSIGNED          a signed request without `signature`
 *   400 <RequestRejected>  the Sequencer refused the request before the engine (BAD_SIGNATURE,
 *                          NO_TRADING_KEY, ORDER_ID_REUSED, ORDER_SLOT_BUSY, BAD_NONCE,
 *                          INSUFFICIENT_BALANCE, ...). Nothing changed.
 *   422 <RejectCode>       the matching engine refused the order or cancel (RISK_REJECTED, TOO_MANY_POSITIONS, WOULD_CROSS,
 *                          FOK_UNFILLABLE, UNKNOWN_MARKET, UNKNOWN_ORDER (also a replayed cancel),
 *                          EXPIRED, ...); the engine's events are in `events`. Nothing changed (but the sequencer's
 *                          log and the engine's command number, `done.seq`: the engine ran the command). (Chosen
 *                          over 200 + rejected event so that a 200 always means the request took effect.)
 *   429 RATE_LIMITED      the client's token bucket is empty (charged before anything is parsed: a token when a
 *                          write arrives, one per started 2 KiB of its body once read, then what its command costs
 *                          beyond that; a batch is refused whole, keeping what its body paid), or the account's (charged once the request's signature holds:
 *                          junk in another's name costs it nothing; a batch item by item) (commands.ts)
 *   404 UNKNOWN_MARKET | UNKNOWN_ORDER | UNKNOWN_BATCH | NOT_FOUND;  413 BODY_TOO_LARGE;
 *   415 UNSUPPORTED_MEDIA_TYPE;  503 NOT_CONFIGURED (typed data without chain settings);
 *   503 BACKLOG_FULL      too many transactions wait for batches: orders, withdrawals and transfers are refused
 *                          until batches catch up (cancels never are; service/backlog.ts). Nothing changed: retry;
 *   500 INTERNAL (details only in the log).
 */
import type { IncomingMessage } from "node:http";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from "fastify";
import type { Address } from "viem";
import type { Sequencer } from "../service/sequencer.ts";
import { tradingKeyTypedData } from "../sdk/tradingKey.ts";
import { BatchLog } from "./batchLog.ts";
import { CommandGateway, type RateLimits } from "./commands.ts";
import { ApiError, apiErrorOf, parse } from "./errors.ts";
import { AccountHistory, type HistoryOptions } from "./history.ts";
import { MarketTrades, tradeOf } from "./marketTrades.ts";
import { FillWriter, olderPage, type FillStore } from "./fillStore.ts";
import { OrderIntake } from "./orderIntake.ts";
import { BINARY_ORDERS_TYPE } from "../wire/orderFrames.ts";
import {
  AccountOrderParamsSchema, AccountParamsSchema, BatchParamsSchema, BatchesQuerySchema, BookQuerySchema, FillsQuerySchema,
  KeyQuerySchema, MarketParamsSchema, OrdersQuerySchema, toJson,
} from "../wire/schemas.ts";
import { MarketStream, type StreamOptions } from "./stream.ts";
import { registerDerivativesRoutes } from "./derivativesRoutes.ts";

export type ApiServerOptions = {
  /** fastify's `logger` option (false by default). */
  logger?: FastifyServerOptions["logger"];
  /** Largest accepted request body in bytes (default 16 KiB; batch routes 8 times that); larger: 413. */
  bodyLimit?: number;
  /** Stream clients whose unsent data passes this are disconnected (default 4 MiB). */
  streamMaxBufferedBytes?: number;
  stream?: StreamOptions;
  rateLimits?: RateLimits;
  history?: HistoryOptions;
  /** Trades kept per market for GET /v1/markets/:id/trades (default 1000). */
  maxTradesPerMarket?: number;
  /** Keeps fills and trades across restarts, and serves pages older than the in-memory indexes hold (fillStore.ts); without one they start empty. The caller closes it. */
  fillStore?: FillStore;
  /** Most orders verified and placed in one Sequencer.placeOrders call (default 1024). */
  maxOrderGroup?: number;
  /** The chain and custodian the trading keys are bound to (for GET /v1/keys/typed-data). */
  exchange?: { chainId: number; custodian: Address };
};

export const DEFAULT_BODY_LIMIT = 16 * 1024;
const DEFAULT_BOOK_LEVELS = 10;
const DEFAULT_TRADES = 100;
/** Orders `GET /v1/accounts/:id/orders` answers without a `limit` (the newest). */
const DEFAULT_ORDERS = 100;
/** How long a request may take to arrive, headers and body (Fastify's `requestTimeout`). */
const REQUEST_TIMEOUT_MS = 30_000;

/** The API and its parts (the server wires them; tests and benchmarks look at them). */
export type ApiParts = { intake: OrderIntake; history: AccountHistory; trades: MarketTrades; batches: BatchLog; stream: MarketStream; commands: CommandGateway };

export function createApiServer(sequencer: Sequencer, opts: ApiServerOptions = {}): FastifyInstance & { api: ApiParts } {
  const bodyLimit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT;
  // A request must arrive whole within REQUEST_TIMEOUT_MS: a client trickling a body cannot hold a socket for good
  // (review of 2026-12-06; Fastify's default is no limit).
  // The router's own refusals (a path parameter over 100 characters, a path that does not URL-decode) are answered
  // here, as every other malformed request is: without `frameworkErrors` Fastify answered them itself, 414 or 400 with
  // its own body and codes (FST_ERR_MAX_PARAM_LENGTH, FST_ERR_BAD_URL), no code a client is told of (wire fuzz of 2026-12-07).
  const app = Fastify({
    logger: opts.logger ?? false, bodyLimit, requestTimeout: REQUEST_TIMEOUT_MS,
    frameworkErrors: (error, _req, reply) => (reply as FastifyReply).code(400).send({ code: "MALFORMED", message: `path: ${error.message}` }),
  });
  const intake = new OrderIntake(sequencer, { maxGroup: opts.maxOrderGroup });
  const commands = new CommandGateway(sequencer, intake, opts.rateLimits);
  const writer = opts.fillStore && new FillWriter(opts.fillStore, () => sequencer.durable(), (e) => app.log.error({ err: e }, "writing the trade history failed"));
  const now = () => sequencer.now();
  const history = new AccountHistory({ clock: now, ...opts.history, onFillRejected: writer && ((f, code) => writer.fillRejected(f, code)) });
  const trades = new MarketTrades(opts.maxTradesPerMarket);
  if (opts.fillStore) {
    const stored = opts.fillStore.load(history.fillsKept, trades.tradesKept);
    history.restore(stored.accountFills, stored.lastFillId);
    trades.record(stored.marketTrades);
    const records = opts.fillStore.loadRecords(history.recordsKept);
    history.restoreRecords(records.orders, records.rejections, records.lastRejectionId);
  }
  const batches = new BatchLog({ clock: now });
  const query = sequencer.query;
  const stream = new MarketStream(query, commands, { maxBufferedBytes: opts.streamMaxBufferedBytes, ...opts.stream });

  // What the stream tells of a command (its trades, fills, order changes, rejections) goes out once the log record
  // behind it is durable, in the order the commands ran, as the answers to its sender do: a crash, power loss included,
  // never takes back a fill a client was shown. (Book deltas carry the live book when they are sent.)
  let streamed: Promise<unknown> = Promise.resolve();
  // The observers run inside the command's apply, before the sequencer appends its record (Sequencer.logged, in the
  // same synchronous turn): durable() is asked a microtask later, once that record is appended, or it would cover
  // only the records before it (review of 2026-12-06: with the process's background-sync store the fill went out first).
  const whenDurable = (send: () => void, what: string) => {
    const appended = Promise.resolve().then(() => sequencer.durable());
    streamed = Promise.all([streamed, appended]).then(send).catch((e: unknown) => app.log.error({ err: e }, `publishing ${what} failed`));
  };
  // Observers must never throw into the sequencer: a failure here is logged, the command stands.
  const onEngine = (events: Parameters<MarketStream["publish"]>[0], incoming: Parameters<AccountHistory["record"]>[1]) => {
    try {
      const changes = history.record(events, incoming);
      trades.record(changes.fills);
      writer?.orders(changes.orders);
      writer?.fills(changes.fills);
      whenDurable(() => stream.publish(events, changes), "engine events");
    } catch (e) {
      app.log.error({ err: e }, "publishing engine events failed");
    }
  };
  const onRejected = (r: Parameters<AccountHistory["recordRejection"]>[0]) => {
    try {
      const recs = history.recordRejection(r);
      writer?.rejections(recs);
      whenDurable(() => stream.publishRejections(recs), "a rejection");
    } catch (e) {
      app.log.error({ err: e }, "publishing a rejection failed");
    }
  };
  const onBatch = (b: Parameters<BatchLog["record"]>[0]) => {
    try {
      stream.publishBatch(batches.record(b));
    } catch (e) {
      app.log.error({ err: e }, "publishing a batch failed");
    }
  };
  // A rotated key ends the private subscriptions the old one authenticated: told in its turn among the commands (before
  // the rotation's cancels); meanwhile every private message checks the account's live key before it is sent.
  const onKey = (accountId: number) => whenDurable(() => stream.keyChanged(accountId), "the end of a rotated key's private streams");
  sequencer.events.on("engine", onEngine);
  sequencer.events.on("batch", onBatch);
  sequencer.events.on("rejected", onRejected);
  sequencer.events.on("key", onKey);
  app.server.on("upgrade", stream.handleUpgrade);
  // preClose: WebSocket connections are ended before the HTTP server waits for its connections to close.
  app.addHook("preClose", async () => {
    sequencer.events.off("engine", onEngine);
    sequencer.events.off("batch", onBatch);
    sequencer.events.off("rejected", onRejected);
    sequencer.events.off("key", onKey);
    app.server.off("upgrade", stream.handleUpgrade);
    await streamed;
    await stream.close();
    await writer?.flushed();
  });

  // A request that may carry a body pays its source's bucket before anything of it is parsed (review of 2026-12-06,
  // Low: charged only once the body had parsed, and a malformed body never, a client could have the server parse
  // bodies for free): one token on arrival, before the body is read (an empty bucket: 429 at once, the body unread),
  // then the body's size (chargeBody) once it is read, before it is parsed; the command then pays what it costs beyond
  // that (`prepaid`). Reads (GET) are not charged here.
  const prepaid = new WeakMap<IncomingMessage, number>();
  const paidBy = (req: FastifyRequest) => prepaid.get(req.raw) ?? 0;
  app.addHook("onRequest", async (req) => {
    if (req.method === "GET" || req.method === "HEAD") return;
    commands.chargeSource(req.ip, 1);
    prepaid.set(req.raw, 1);
  });
  const chargeBody = (req: FastifyRequest, body: Buffer) => prepaid.set(req.raw, commands.chargeBody(req.ip, body.length, paidBy(req)));

  // JSON only, but for binary order records on the order batch route (orderFrames.ts): fastify's default
  // text/plain parser would turn any text into a string body. JSON is parsed as fastify's default parser does
  // (prototype poisoning refused), after its body is charged.
  const json = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser(["text/plain", "application/json"]);
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (req, body: Buffer, done) => {
    try {
      chargeBody(req, body);
    } catch (e) {
      return done(e as Error, undefined);
    }
    json(req, body as unknown as string, done);
  });
  app.addContentTypeParser(BINARY_ORDERS_TYPE, { parseAs: "buffer" }, (req, body: Buffer, done) => {
    if (req.method !== "POST" || req.routeOptions.url !== "/v1/orders/batch") {
      return done(new ApiError(415, "UNSUPPORTED_MEDIA_TYPE", `${BINARY_ORDERS_TYPE} is accepted only by POST /v1/orders/batch`));
    }
    try {
      chargeBody(req, body);
    } catch (e) {
      return done(e as Error, undefined);
    }
    done(null, body);
  });
  app.setReplySerializer((payload) => toJson(payload));

  app.setNotFoundHandler((req, reply: FastifyReply) => {
    reply.code(404).send({ code: "NOT_FOUND", message: `no route ${req.method} ${req.url.split("?")[0]}` });
  });

  app.setErrorHandler((error: unknown, req, reply) => {
    const known = apiErrorOf(error);
    if (known) return reply.code(known.statusCode).send(known.body());
    const status = (error as { statusCode?: number }).statusCode;
    const message = (error as Error).message;
    if (status === 413) return reply.code(413).send({ code: "BODY_TOO_LARGE", message });
    if (status === 415) return reply.code(415).send({ code: "UNSUPPORTED_MEDIA_TYPE", message });
    if (status !== undefined && status >= 400 && status < 500) return reply.code(400).send({ code: "MALFORMED", message });
    req.log.error({ err: error }, "internal error");
    return reply.code(500).send({ code: "INTERNAL", message: "internal error" });
  });

  // ---- writes ---------------------------------------------------------------------------------

  const batchLimit = { bodyLimit: bodyLimit * 8 };
  app.post("/v1/orders", async (req) => commands.placeOrder(req.body, req.ip, paidBy(req)));
  app.post("/v1/orders/batch", batchLimit, async (req) =>
    Buffer.isBuffer(req.body) ? commands.placeOrderRecords(req.body, req.ip, paidBy(req)) : commands.placeOrderBatch(req.body, req.ip, paidBy(req)));
  app.post("/v1/cancels", async (req) => commands.cancel(req.body, req.ip, paidBy(req)));
  app.post("/v1/cancels/batch", batchLimit, async (req) => commands.cancelBatch(req.body, req.ip, paidBy(req)));
  app.post("/v1/withdrawals", async (req) => commands.withdraw(req.body, req.ip, paidBy(req)));
  // a transfer moves collateral, an oracle update marks and funding: the private streams get the new derivatives reports
  app.post("/v1/transfers", async (req) => {
    const answer = await commands.transfer(req.body, req.ip, paidBy(req));
    stream.publishDerivatives([answer.accountId as number]);
    return answer;
  });
  app.post("/v1/oracle/updates", async (req) => {
    const answer = await commands.oracleUpdate(req.body, req.ip, paidBy(req));
    stream.publishDerivatives();
    return answer;
  });

  // ---- reads ----------------------------------------------------------------------------------

  app.get("/v1/markets", async () => ({ markets: query.markets() }));

  app.get("/v1/treasury", async () => query.treasury());

  app.get("/v1/markets/:id/book", async (req) => {
    const { id } = parse(MarketParamsSchema, req.params, "market id");
    const { levels } = parse(BookQuerySchema, req.query, "book query");
    if (!query.market(id)) throw new ApiError(404, "UNKNOWN_MARKET", `market ${id} is not registered`);
    return { marketId: id, ...query.book(id, levels ?? DEFAULT_BOOK_LEVELS) };
  });

  app.get("/v1/markets/:id/trades", async (req) => {
    const { id } = parse(MarketParamsSchema, req.params, "market id");
    const { limit, before } = parse(FillsQuerySchema, req.query, "trades query");
    if (!query.market(id)) throw new ApiError(404, "UNKNOWN_MARKET", `market ${id} is not registered`);
    const n = limit ?? DEFAULT_TRADES;
    const memory = trades.list(id, n, before);
    const store = opts.fillStore;
    return { marketId: id, trades: store ? olderPage(memory, n, before, (t) => t.tradeId, (k, b) => store.marketTrades(id, k, b).map(tradeOf)) : memory };
  });

  app.get("/v1/keys/typed-data", async (req) => {
    const { keyIndex } = parse(KeyQuerySchema, req.query, "key query");
    if (!opts.exchange) throw new ApiError(503, "NOT_CONFIGURED", "this server was started without its chain id and custodian");
    return tradingKeyTypedData(opts.exchange.chainId, opts.exchange.custodian, keyIndex ?? 0);
  });

  app.get("/v1/accounts/:id", async (req) => {
    const { id } = parse(AccountParamsSchema, req.params, "account id");
    const { positions } = query.derivativesSummary(id);
    return { accountId: id, balances: query.balances(id), openOrders: query.openOrders(id), positions, withdrawalNonce: query.withdrawalNonce(id) };
  });

  app.get("/v1/accounts/:id/key", async (req) => {
    const { id } = parse(AccountParamsSchema, req.params, "account id");
    return { accountId: id, publicKey: query.tradingKey(id) ?? null };
  });

  app.get("/v1/accounts/:id/orders", async (req) => {
    const { id } = parse(AccountParamsSchema, req.params, "account id");
    const q = parse(OrdersQuerySchema, req.query, "orders query");
    return { accountId: id, orders: history.orders(id, { ...q, limit: q.limit ?? DEFAULT_ORDERS }) };
  });

  app.get("/v1/accounts/:id/orders/:orderId", async (req) => {
    const { id, orderId } = parse(AccountOrderParamsSchema, req.params, "order path");
    // each read answers the order as it stands at the sequencer's clock: one past its expiry is neither in the book
    // nor held for these reads, and its record reads cancelled with reason expired (history.ts orderAt), before the
    // next record sweeps it as after (docs/client.md 6.4)
    const live = query.order(id, orderId);
    const rec = history.order(id, orderId);
    // (the record is read a moment after the book: at an expiry's second it may read expired already, the book not)
    if (live) return { order: { ...rec, ...live, status: "open", cancelReason: null } };
    const held = query.heldOrder(id, orderId);
    if (held) return { order: held };
    if (rec) return { order: rec };
    throw new ApiError(404, "UNKNOWN_ORDER", `account ${id} has no order ${orderId} this server remembers`);
  });

  app.get("/v1/accounts/:id/fills", async (req) => {
    const { id } = parse(AccountParamsSchema, req.params, "account id");
    const q = parse(FillsQuerySchema, req.query, "fills query");
    const n = q.limit ?? 100;
    const memory = history.fills(id, { limit: n, beforeFillId: q.before });
    const store = opts.fillStore;
    return { accountId: id, fills: store ? olderPage(memory, n, q.before, (f) => f.fillId, (k, b) => store.accountFills(id, k, b)) : memory };
  });

  app.get("/v1/accounts/:id/rejections", async (req) => {
    const { id } = parse(AccountParamsSchema, req.params, "account id");
    const { limit } = parse(BatchesQuerySchema, req.query, "rejections query");
    return { accountId: id, rejections: history.rejections(id, limit ?? 100) };
  });

  app.get("/v1/batches", async (req) => {
    const { limit } = parse(BatchesQuerySchema, req.query, "batches query");
    return { pendingTransactions: query.pendingTransactions, batches: batches.list(limit ?? 20) };
  });

  app.get("/v1/batches/:n", async (req) => {
    const { n } = parse(BatchParamsSchema, req.params, "batch number");
    const b = batches.get(n);
    if (!b) throw new ApiError(404, "UNKNOWN_BATCH", `batch ${n} was not posted by this server (or is forgotten)`);
    return { batch: b };
  });

  registerDerivativesRoutes(app, query, (source, cost) => commands.chargeSource(source, cost));

  app.get("/v1/health", async (_req, reply) => {
    const h = query.health();
    const body = { status: h.ok ? "ok" : "failing", time: now(), pendingTransactions: query.pendingTransactions, prover: query.proverMetrics() };
    if (h.ok) return body;
    return reply.code(503).send({ ...body, code: "SETTLEMENT_FAILING", message: h.problems.join("; "), problems: h.problems, batches: h.batches });
  });

  return Object.assign(app, { api: { intake, history, trades, batches, stream, commands } });
}
