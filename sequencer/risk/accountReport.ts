/**
 * One account's derivatives, as the API reports them: collateral, equity, margin used (IM, MM) and
 * what the open orders add, per position the size, average entry, cost basis, mark, unrealised and
 * realised PnL and fees (bookkeeping from fills), funding paid (settled plus pending), the Greeks of each position and in total,
 * and the index prices at which the account would be liquidated.
 * Everything at the latest accepted oracle update, from the risk engine's running view.
 *
 * The liquidation prices are a search over the price (liquidationPrice.ts: milliseconds per account holding
 * options), so only the full report (accountReport: GET /v1/accounts/:id/derivatives) computes them; the
 * summary (accountSummary), which the private stream sends every account after each oracle update, leaves
 * them out.
 */
import type { Greeks } from "../derivatives/blackScholes/blackScholes.ts";
import { InstrumentKind, instrumentMarketId } from "../protocol/constants.ts";
import type { DerivativesRisk } from "./derivativesRisk.ts";
import { averageEntry, unrealisedPnl } from "./positionLedger.ts";
import { addGreeks, NO_GREEKS, positionGreeks } from "./positionGreeks.ts";
import { liquidationPrices, type LiquidationPrice } from "./liquidationPrice.ts";
import { settleFunding } from "../derivatives/formulas.ts";

export type PositionReport = {
  instrumentId: number;
  marketId: number;
  kind: InstrumentKind;
  size: bigint;
  averageEntryPerLot: bigint;
  costBasis: bigint;
  markPerLot: bigint;
  unrealisedPnl: bigint;
  realisedPnl: bigint;
  feesPaid: bigint;
  /** Funding paid on the position since it was first opened, signed (positive = paid, negative = received): what touches settled plus what is pending at the current index. */
  fundingPaid: bigint;
  greeks: Greeks;
};

export type AccountReport = {
  accountId: number;
  /** Collateral with pending (lazy) funding settled, quote units. */
  collateral: bigint;
  equity: bigint;
  initialMargin: bigint;
  maintenanceMargin: bigint;
  /** Initial margin plus the open orders' worst case (what new orders and withdrawals must leave covered). */
  marginWithOrders: bigint;
  /** Equity minus marginWithOrders. */
  available: bigint;
  oracleTime: number | null;
  positions: PositionReport[];
  greeks: Greeks;
  /**
   * Per underlying held, the nearest index prices below and above the current one at which the account
   * falls under maintenance margin, everything else held (liquidationPrice.ts); none before an oracle update.
   */
  liquidation: LiquidationPrice[];
};

/** The account report without its liquidation prices: what the private stream sends (docs/client.md 8.2). */
export type AccountSummary = Omit<AccountReport, "liquidation">;

/** The account's report, liquidation prices included (a search over the price per underlying held). */
export function accountReport(risk: DerivativesRisk, accountId: number): AccountReport {
  const inputs = risk.inputs;
  const funded = () => settleFunding(risk.account(accountId), risk.instruments.map((i) => i.fundingIndex));
  return { ...accountSummary(risk, accountId), liquidation: inputs ? liquidationPrices(funded(), risk.instruments, inputs) : [] };
}

/** The account's report without the liquidation prices (accountReport less its search): cheap enough for every account on each oracle update. */
export function accountSummary(risk: DerivativesRisk, accountId: number): AccountSummary {
  const acc = risk.account(accountId);
  const m = risk.margin(accountId);
  const inputs = risk.inputs;
  const marks = risk.risks;
  const funding = risk.instruments.map((inst, i) => acc.positions[i].size * (inst.fundingIndex - acc.positions[i].snapshot));
  const collateral = acc.collateral - funding.reduce((a, b) => a + b, 0n);
  const positions: PositionReport[] = [];
  risk.instruments.forEach((inst, i) => {
    const entry = risk.ledger.entry(accountId, i);
    const size = acc.positions[i].size;
    if (inst.kind === InstrumentKind.NONE || (size === 0n && entry.realisedPnl === 0n && entry.feesPaid === 0n && entry.fundingPaid === 0n)) return;
    const mark = marks?.[i].mark ?? 0n;
    positions.push({
      instrumentId: i, marketId: instrumentMarketId(i, inst.generation, risk.instruments.length), kind: inst.kind, size,
      averageEntryPerLot: averageEntry(entry), costBasis: entry.costBasis, markPerLot: mark,
      unrealisedPnl: unrealisedPnl(entry, mark), realisedPnl: entry.realisedPnl, feesPaid: entry.feesPaid,
      fundingPaid: entry.fundingPaid + funding[i],
      greeks: inputs ? positionGreeks(inst, size, inputs.prices[inst.underlying], inputs.vols[i], inputs.time) : NO_GREEKS,
    });
  });
  return {
    accountId, collateral,
    equity: m?.equity ?? collateral,
    initialMargin: m?.im ?? 0n,
    maintenanceMargin: m?.mm ?? 0n,
    marginWithOrders: m?.required ?? 0n,
    available: (m?.equity ?? collateral) - (m?.required ?? 0n),
    oracleTime: inputs?.time ?? null,
    positions,
    greeks: positions.map((p) => p.greeks).reduce(addGreeks, NO_GREEKS),
  };
}
