/**
 * Derivatives routes of the API (registered by server.ts):
 *   GET  /v1/accounts/:id/derivatives  collateral, equity, margin used (IM, MM, with orders), positions
 *                                      with average entry, unrealised/realised PnL, fees, and Greeks
 *   GET  /v1/instruments               the instrument table with marks at the latest oracle update
 *   POST /v1/transfers                 a signed transfer between spot quote balance and collateral
 * Errors follow server.ts: 400 MALFORMED / UNSIGNED / the Sequencer's RequestRejected code.
 */
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { Bits, INSTRUMENT_MARKET_BASE, InstrumentKind } from "../protocol/constants.ts";
import type { Signed, Transfer } from "../protocol/messages.ts";
import { accountReport } from "../risk/accountReport.ts";
import type { Sequencer } from "../service/sequencer.ts";
import { AccountParamsSchema, SignatureSchema, uint, uintString } from "./schemas.ts";

export const TransferSchema = z
  .object({
    accountId: uint(Bits.accountId),
    toCollateral: z.boolean(),
    amount: uintString(Bits.amount, "amount"),
    nonce: uint(Bits.nonce),
    signature: SignatureSchema,
  })
  .strict() satisfies z.ZodType<Signed<Transfer>, z.ZodTypeDef, unknown>;

/** Parses with `schema` or throws the shape error server.ts turns into 400 MALFORMED (or UNSIGNED). */
export type Parse = <T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, value: unknown, what: string) => T;
/** Runs a Sequencer call, turning RequestRejected into a 400 with its code. */
export type Intake = <T>(fn: () => T) => T;

export function registerDerivativesRoutes(app: FastifyInstance, sequencer: Sequencer, parse: Parse, intake: Intake): void {
  app.get("/v1/accounts/:id/derivatives", async (req) => {
    const { id } = parse(AccountParamsSchema, req.params, "account id");
    return accountReport(sequencer.derivatives.risk, id);
  });

  app.get("/v1/instruments", async () => {
    const risk = sequencer.derivatives.risk;
    return {
      oracleTime: risk.inputs?.time ?? null,
      instruments: risk.instruments.flatMap((inst, i) =>
        inst.kind === InstrumentKind.NONE ? [] : [{ instrumentId: i, marketId: INSTRUMENT_MARKET_BASE + i, ...inst, markPerLot: risk.risks?.[i].mark ?? null }]),
    };
  });

  app.post("/v1/transfers", async (req) => {
    const t = parse(TransferSchema, req.body, "transfer");
    intake(() => sequencer.requestTransfer(t));
    return { status: "accepted", accountId: t.accountId, toCollateral: t.toCollateral, amount: t.amount, nonce: t.nonce };
  });
}
