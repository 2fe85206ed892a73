/**
 * Equity and bad debt at a batch's marks, for the custody checks of the dishonest-operator generator
 * (test/helpers/dishonest.ts) and the custody property test (test/property/custody.test.ts).
 */
import { accountRisk, settleFunding, type LotRisk } from "../../sequencer/derivatives/formulas.ts";
import { applyOracleStep, type SignedOracleUpdate } from "../../sequencer/derivatives/oracleStep.ts";
import type { ExchangeState } from "../../sequencer/state/exchangeState.ts";

/** A batch's marks and margins per lot, and the funding indexes after its oracle step. */
export type Marks = { risks: readonly LotRisk[]; indexes: readonly bigint[] };

/** The marks the oracle step of a batch at `timestamp` with `update` gives on `state` (the step is computed and undone). */
export function marksOfStep(state: ExchangeState, update: SignedOracleUpdate | null, timestamp: number): Marks {
  const t = state.begin();
  try {
    const step = applyOracleStep(state, update, timestamp);
    return { risks: step.risks, indexes: state.instruments.map((i) => i.fundingIndex) };
  } finally {
    t.rollback();
  }
}

/** Equity (funding settled) and margin requirements of account `id` at `marks`. */
export function riskOf(state: ExchangeState, id: number, marks: Marks) {
  return accountRisk(settleFunding(state.account(id).deriv, marks.indexes), marks.risks);
}

/** The sum of every account's negative equity at `marks` (a debt nobody can collect), and who owes it. */
export function badDebt(state: ExchangeState, marks: Marks): { total: bigint; accounts: [number, bigint][] } {
  const accounts: [number, bigint][] = [];
  let total = 0n;
  for (const id of state.accountIds()) {
    const { equity } = riskOf(state, id, marks);
    if (equity < 0n) {
      accounts.push([id, equity]);
      total -= equity;
    }
  }
  return { total, accounts };
}
