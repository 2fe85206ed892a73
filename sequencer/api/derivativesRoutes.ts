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

/**
 * What one account's derivatives read costs of its source's rate-limit bucket: unlike the other reads it values the
 * whole portfolio many times over (the liquidation-price search, milliseconds for an account holding options), so
 * it is charged like that many signed requests: 50 a second from one source at the default limits.
 */
export const DERIVATIVES_READ_COST = 100;

/** Registers the derivatives reads on `app`, answered from `query`; `charge` spends a source's tokens (CommandGateway.chargeSource). */
export function registerDerivativesRoutes(app: FastifyInstance, query: ExchangeQuery, charge: (source: string, cost: number) => void): void {
  app.get("/v1/accounts/:id/derivatives", async (req) => {
    const { id } = parse(AccountParamsSchema, req.params, "account id");
    charge(req.ip, DERIVATIVES_READ_COST);
    return query.derivativesAccount(id);
  });

  app.get("/v1/instruments", async () => query.instruments());
}
