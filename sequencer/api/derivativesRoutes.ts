/**
 * Derivatives reads of the API (registered by server.ts; the signed write, POST /v1/transfers, is with
 * the other writes in commands.ts):
 *   GET /v1/accounts/:id/derivatives  collateral, equity, margin used (IM, MM, with orders), positions
 *                                     with average entry, unrealised/realised PnL, fees, and Greeks
 *   GET /v1/instruments               the instrument table with marks at the latest oracle update, the
 *                                     funding epoch, and the table's sizes (instrument slots, underlyings)
 */
import type { FastifyInstance } from "fastify";
import { INSTRUMENT_MARKET_BASE, InstrumentKind } from "../protocol/constants.ts";
import { accountReport } from "../risk/accountReport.ts";
import type { Sequencer } from "../service/sequencer.ts";
import { parse } from "./errors.ts";
import { AccountParamsSchema } from "./schemas.ts";

export function registerDerivativesRoutes(app: FastifyInstance, sequencer: Sequencer): void {
  app.get("/v1/accounts/:id/derivatives", async (req) => {
    const { id } = parse(AccountParamsSchema, req.params, "account id");
    return accountReport(sequencer.derivatives.risk, id);
  });

  app.get("/v1/instruments", async () => {
    const risk = sequencer.derivatives.risk;
    return {
      oracleTime: risk.inputs?.time ?? null,
      /** The funding epoch the next oracle update continues from (the same, or one more with a funding tick). */
      fundingEpoch: sequencer.derivatives.fundingEpoch,
      /** Instrument ids run 0..instrumentSlots-1; an oracle update carries one funding rate per slot. */
      instrumentSlots: sequencer.params.instruments,
      underlyings: sequencer.params.underlyings,
      instruments: risk.instruments.flatMap((inst, i) =>
        inst.kind === InstrumentKind.NONE ? [] : [{ instrumentId: i, marketId: INSTRUMENT_MARKET_BASE + i, ...inst, markPerLot: risk.risks?.[i].mark ?? null }]),
    };
  });
}
