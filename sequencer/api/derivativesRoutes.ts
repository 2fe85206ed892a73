/**
 * Derivatives reads of the API (registered by server.ts; the signed write, POST /v1/transfers, is with
 * the other writes in commands.ts):
 *   GET /v1/accounts/:id/derivatives  collateral, equity, margin used (IM, MM, with orders), positions
 *                                     with average entry, unrealised/realised PnL, fees, and Greeks
 *   GET /v1/instruments               the instrument table with marks at the latest oracle update, the
 *                                     funding epoch, and the table's sizes (instrument slots, underlyings)
 */
import type { FastifyInstance } from "fastify";
import type { ExchangeQuery } from "../service/query.ts";
import { parse } from "./errors.ts";
import { AccountParamsSchema } from "../wire/schemas.ts";

/** Registers the derivatives reads on `app`, answered from `query`. */
export function registerDerivativesRoutes(app: FastifyInstance, query: ExchangeQuery): void {
  app.get("/v1/accounts/:id/derivatives", async (req) => {
    const { id } = parse(AccountParamsSchema, req.params, "account id");
    return query.derivativesAccount(id);
  });

  app.get("/v1/instruments", async () => query.instruments());
}
