/**
 * Typed answers of the API that the SDK reads: what each server message holds. The request shapes are
 * in schemas.ts; the encoding rules (bigints as decimal strings) are toJson's.
 */

/** The effect of an accepted oracle update (POST /v1/oracle/updates): the answer the oracle feeder reads. */
export type OracleOutcome = {
  fundingTick: boolean;
  settled: number[];
  /** [accountId, instrumentId, lots] of each liquidation. */
  liquidations: [number, number, bigint][];
  /** Accounts whose open derivatives orders were cancelled for want of margin. */
  cancelled: number[];
};
