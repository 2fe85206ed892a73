/**
 * The exchange's network API (first slice): HTTP JSON routes over a Sequencer, plus the market data
 * stream (stream.ts). The API validates shapes only and calls the Sequencer; signatures, order-id
 * slots, nonces, matching and risk are decided there.
 *
 * Bigints travel as decimal strings (schemas.ts). Errors are always {code, message[, issues|events]}:
 *   400 MALFORMED         body/params/query not of the documented shape or a field outside its width
 *                          (the zod issues are in `issues`); also unparsable JSON
 *   400 UNSIGNED          a signed request without `signature`
 *   400 <RequestRejected>  the Sequencer refused the request before the engine (BAD_SIGNATURE,
 *                          NO_TRADING_KEY, ORDER_ID_REUSED, ORDER_SLOT_BUSY, BAD_NONCE,
 *                          INSUFFICIENT_BALANCE, ...). Nothing changed.
 *   422 <RejectCode>       the matching engine refused the order or cancel (RISK_REJECTED, WOULD_CROSS,
 *                          FOK_UNFILLABLE, UNKNOWN_MARKET, UNKNOWN_ORDER, EXPIRED, ...); the engine's
 *                          events are in `events`. Nothing changed. (Chosen over 200 + rejected event so
 *                          that a 200 always means the request took effect.)
 *   404 UNKNOWN_MARKET | UNKNOWN_ORDER | NOT_FOUND;  413 BODY_TOO_LARGE;  415 UNSUPPORTED_MEDIA_TYPE;
 *   500 INTERNAL (details only in the log).
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyServerOptions } from "fastify";
import type { ZodError, ZodType, ZodTypeDef } from "zod";
import type { EngineEvent, RejectedEvent } from "../matching/index.ts";
import { RequestRejected, type Sequencer } from "../service/sequencer.ts";
import {
  AccountOrderParamsSchema, AccountParamsSchema, BookQuerySchema, CancelSchema, MarketParamsSchema, OrderSchema,
  WithdrawalSchema, toJson,
} from "./schemas.ts";
import { MarketStream } from "./stream.ts";
import { registerDerivativesRoutes } from "./derivativesRoutes.ts";

export type ApiServerOptions = {
  /** fastify's `logger` option (false by default). */
  logger?: FastifyServerOptions["logger"];
  /** Largest accepted request body in bytes (default 16 KiB); larger ones get 413 BODY_TOO_LARGE. */
  bodyLimit?: number;
  /** Stream clients whose unsent data passes this are disconnected (default 4 MiB). */
  streamMaxBufferedBytes?: number;
};

export const DEFAULT_BODY_LIMIT = 16 * 1024;
const DEFAULT_BOOK_LEVELS = 10;

/** An error the API answers with a status and a code. */
class ApiError extends Error {
  constructor(readonly statusCode: number, readonly code: string, message: string, readonly extra: Record<string, unknown> = {}) {
    super(message);
  }
}

function malformed(error: ZodError, what: string): ApiError {
  const unsigned = error.issues.some((i) => i.path.length === 1 && i.path[0] === "signature" && i.code === "invalid_type" && i.received === "undefined");
  if (unsigned) return new ApiError(400, "UNSIGNED", `${what} has no signature`);
  const first = error.issues[0];
  const where = first.path.length ? `${first.path.join(".")}: ` : "";
  return new ApiError(400, "MALFORMED", `${what}: ${where}${first.message}`, { issues: error.issues });
}

function parse<T>(schema: ZodType<T, ZodTypeDef, unknown>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw malformed(r.error, what);
  return r.data;
}

/** Runs a Sequencer call, turning RequestRejected into a 400 with its code. */
function intake<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof RequestRejected) throw new ApiError(400, e.code, e.message);
    throw e;
  }
}

/** 422 when the engine refused the command, with its events. */
function engineOutcome(events: EngineEvent[]): { events: EngineEvent[] } {
  const rejected = events.find((e): e is RejectedEvent => e.type === "rejected");
  if (rejected) throw new ApiError(422, rejected.code, `the matching engine refused the request: ${rejected.code}`, { events });
  return { events };
}

export function createApiServer(sequencer: Sequencer, opts: ApiServerOptions = {}): FastifyInstance {
  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: opts.bodyLimit ?? DEFAULT_BODY_LIMIT });
  const stream = new MarketStream(sequencer, { maxBufferedBytes: opts.streamMaxBufferedBytes });
  app.server.on("upgrade", stream.handleUpgrade);
  app.addHook("onClose", async () => {
    app.server.off("upgrade", stream.handleUpgrade);
    await stream.close();
  });

  // JSON only: fastify's default text/plain parser would turn any text into a string body.
  app.removeContentTypeParser("text/plain");
  app.setReplySerializer((payload) => toJson(payload));

  app.setNotFoundHandler((req, reply: FastifyReply) => {
    reply.code(404).send({ code: "NOT_FOUND", message: `no route ${req.method} ${req.url.split("?")[0]}` });
  });

  app.setErrorHandler((error: unknown, req, reply) => {
    if (error instanceof ApiError) {
      return reply.code(error.statusCode).send({ code: error.code, message: error.message, ...error.extra });
    }
    const status = (error as { statusCode?: number }).statusCode;
    const message = (error as Error).message;
    if (status === 413) return reply.code(413).send({ code: "BODY_TOO_LARGE", message });
    if (status === 415) return reply.code(415).send({ code: "UNSUPPORTED_MEDIA_TYPE", message });
    if (status !== undefined && status >= 400 && status < 500) return reply.code(400).send({ code: "MALFORMED", message });
    req.log.error({ err: error }, "internal error");
    return reply.code(500).send({ code: "INTERNAL", message: "internal error" });
  });

  // ---- writes ---------------------------------------------------------------------------------

  app.post("/v1/orders", async (req) => {
    const order = parse(OrderSchema, req.body, "order");
    const events = intake(() => sequencer.placeOrder(order));
    stream.publish(events);
    return engineOutcome(events);
  });

  app.post("/v1/cancels", async (req) => {
    const cancel = parse(CancelSchema, req.body, "cancel");
    const events = intake(() => sequencer.cancelOrder(cancel));
    stream.publish(events);
    return engineOutcome(events);
  });

  app.post("/v1/withdrawals", async (req) => {
    const w = parse(WithdrawalSchema, req.body, "withdrawal");
    intake(() => sequencer.requestWithdrawal(w));
    return { status: "accepted", accountId: w.accountId, tokenId: w.tokenId, amount: w.amount, nonce: w.nonce };
  });

  // ---- reads ----------------------------------------------------------------------------------

  app.get("/v1/markets", async () => ({ markets: sequencer.markets.list() }));

  app.get("/v1/markets/:id/book", async (req) => {
    const { id } = parse(MarketParamsSchema, req.params, "market id");
    const { levels } = parse(BookQuerySchema, req.query, "book query");
    if (!sequencer.markets.get(id)) throw new ApiError(404, "UNKNOWN_MARKET", `market ${id} is not registered`);
    return { marketId: id, ...sequencer.engine.depth(id, levels ?? DEFAULT_BOOK_LEVELS) };
  });

  app.get("/v1/accounts/:id", async (req) => {
    const { id } = parse(AccountParamsSchema, req.params, "account id");
    const balances = sequencer.risk
      .entries()
      .filter((e) => e.accountId === id)
      .map((e) => ({ tokenId: e.tokenId, balance: e.balance, reserved: e.reserved, available: sequencer.risk.available(id, e.tokenId) }));
    return { accountId: id, balances, openOrders: sequencer.engine.openOrders(id) };
  });

  app.get("/v1/accounts/:id/orders/:orderId", async (req) => {
    const { id, orderId } = parse(AccountOrderParamsSchema, req.params, "order path");
    const order = sequencer.engine.order(id, orderId);
    if (!order) throw new ApiError(404, "UNKNOWN_ORDER", `account ${id} has no live order ${orderId}`);
    return { order };
  });

  registerDerivativesRoutes(app, sequencer, parse, intake);

  app.get("/v1/health", async () => ({ status: "ok", pendingTransactions: sequencer.pendingTransactions, prover: sequencer.proverMetrics() }));

  return app;
}
