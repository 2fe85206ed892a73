/**
 * Breaking a batch-circuit rule: build a dishonest batch the way an operator would (the TypeScript
 * checks off, public data hashed consistently), compute the witness, and name the constraint that
 * refused it. The constraint is located by the source text of its line, so the tests keep pointing at
 * the rule's own gadget when the circom files move lines around.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as snarkjs from "snarkjs";
import { buildBatchCircuit } from "../../scripts/build/batchCircuit.ts";
import { witnessFailureChain } from "../../fpga-prover/witness.ts";
import { buildBatch, type BatchOptions } from "../../sequencer/batch/batchWitness.ts";
import { TxRejected } from "../../sequencer/batch/slotWitness.ts";
import type { BatchTx } from "../../sequencer/protocol/transactions.ts";
import { TEST_PARAMS, type CircuitParams } from "../../sequencer/protocol/params.ts";
import type { ExchangeState } from "../../sequencer/state/exchangeState.ts";
import { NOW, oracleUpdate } from "./derivatives.ts";
import { OracleRejected } from "../../sequencer/derivatives/oracleStep.ts";

export type CircuitInput = Record<string, unknown>;
export type Tamper = (input: CircuitInput) => void;

let wasm: string | undefined;

/** Builds (or finds in the build cache) the batch circuit for `params`; call it in `before`. */
export async function loadBatchCircuit(params: CircuitParams = TEST_PARAMS): Promise<string> {
  wasm = (await buildBatchCircuit(params)).wasm;
  return wasm;
}

/** The failing chain "Template:line" (innermost first) of a witness-calculation error. */
export function failureChain(e: unknown): string[] {
  const chain = witnessFailureChain(e);
  return chain.length ? chain : [String(e)];
}

/** Computes the witness of `input` (with the last loaded circuit unless `circuitWasm` says otherwise); null when every constraint holds, else the failing chain. */
export async function inputFailure(input: CircuitInput, circuitWasm = wasm): Promise<string[] | null> {
  assert.ok(circuitWasm, "loadBatchCircuit() first");
  try {
    await snarkjs.wtns.calculate(input, circuitWasm, { type: "mem" });
    return null;
  } catch (e) {
    return failureChain(e);
  }
}

/**
 * Builds the batch of `txs` on `state` (batch 9 at NOW with the default oracle update unless `opts`
 * says otherwise), applies `tamper` to its circuit input, and computes the witness: null when every
 * constraint holds, else the failing chain "Template:line" (innermost first).
 */
export async function witnessFailure(state: ExchangeState, txs: BatchTx[], opts: Partial<BatchOptions> = {}, tamper?: Tamper): Promise<string[] | null> {
  const batch = buildBatch(state, txs, { batchNumber: 9, timestamp: NOW, oracle: oracleUpdate(), ...opts });
  tamper?.(batch.circuitInput);
  return inputFailure(batch.circuitInput);
}

/**
 * The witness builder (every rule on) refuses `txs` on `state` with `code` (batch 9 at NOW with the default
 * oracle update unless `opts` says otherwise), and the state is as it was: the honest operator's refusal,
 * before a test shows the circuit's.
 */
export function builderRefuses(state: ExchangeState, txs: BatchTx[], code: string, opts: Partial<BatchOptions> = {}): void {
  const root = state.root;
  assert.throws(() => buildBatch(state, txs, { batchNumber: 9, timestamp: NOW, oracle: oracleUpdate(), ...opts }), (e: unknown) => (e instanceof TxRejected || e instanceof OracleRejected) && e.code === code);
  assert.equal(state.root, root, "a refused batch changes nothing");
}

const source = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8").split("\n");
const sources = {
  DerivSlot: source("circuits/derivatives/derivSlot.circom"),
  Fill: source("circuits/derivatives/tx/fill.circom"),
  Liquidate: source("circuits/derivatives/tx/liquidate.circom"),
  Deleverage: source("circuits/derivatives/tx/deleverage.circom"),
  ReduceOnly: source("circuits/derivatives/tx/reduceOnly.circom"),
  TriggerFill: source("circuits/derivatives/tx/trigger.circom"),
  OrderWords: source("circuits/lib/orderWords.circom"),
  OrderStorage: source("circuits/lib/orderStorage.circom"),
  Settle: source("circuits/derivatives/tx/settle.circom"),
  Transfer: source("circuits/derivatives/tx/transfer.circom"),
  ForcedCollateralWithdraw: source("circuits/derivatives/tx/forcedCollateralWithdraw.circom"),
  ForcedClose: source("circuits/derivatives/tx/forcedClose.circom"),
  InsuranceWithdraw: source("circuits/derivatives/tx/insuranceWithdraw.circom"),
  RegisterInstrument: source("circuits/derivatives/tx/registerInstrument.circom"),
  AccountRisk: source("circuits/lib/accountRisk.circom"),
  PositionWrite: source("circuits/lib/positions.circom"),
  PositionLookup: source("circuits/lib/positions.circom"),
  InstrumentSet: source("circuits/lib/instrumentSet.circom"),
  SetLookup: source("circuits/lib/instrumentSet.circom"),
  PositionSetLookup: source("circuits/lib/instrumentSet.circom"),
  OracleStep: source("circuits/derivatives/oracleStep.circom"),
  VolSlices: source("circuits/derivatives/volSurface.circom"),
  SliceVol: source("circuits/derivatives/volSurface.circom"),
  InstrumentMarks: source("circuits/derivatives/oracleStep.circom"),
  InstrumentState: source("circuits/derivatives/oracleStep.circom"),
  OptionValue: source("circuits/derivatives/oracleStep.circom"),
  MarkRead: source("circuits/derivatives/oracleStep.circom"),
  OracleMessage: source("circuits/derivatives/oracleStep.circom"),
  Marking: source("circuits/marking/marking.circom"),
  MarkedOption: source("circuits/marking/marking.circom"),
  BlackScholes: source("circuits/lib/fixed/blackScholes.circom"),
  CeilPpmCheck: source("circuits/lib/ppm.circom"),
  Batch: source("circuits/batch/batch.circom"),
  Slot: source("circuits/batch/slot.circom"),
  RegisterKey: source("circuits/batch/tx/registerKey.circom"),
  DepositWithdraw: source("circuits/batch/tx/depositWithdraw.circom"),
  ForcedWithdraw: source("circuits/batch/tx/forcedWithdraw.circom"),
  FeeWithdraw: source("circuits/batch/tx/feeWithdraw.circom"),
  RegisterMarket: source("circuits/batch/tx/registerMarket.circom"),
  OperatorCancel: source("circuits/batch/tx/cancel.circom"),
  Trade: source("circuits/batch/tx/trade.circom"),
  OrderTime: source("circuits/lib/orderTime.circom"),
  OneHot: source("circuits/lib/select.circom"),
  SignatureIfEnabled: source("circuits/lib/signature.circom"),
  OnCurveIfEnabled: source("circuits/lib/curvePoint.circom"),
  EdDSAPoseidonVerifier: source("node_modules/circomlib/circuits/eddsaposeidon.circom"),
  Exit: source("circuits/exit/exit.circom"),
  HeldInstruments: source("circuits/lib/instrumentTable.circom"),
  ExitMark: source("circuits/exit/exit.circom"),
};

/** "Template:<line>" of the one statement that starts with `text` in the template's source file (the rule's own constraint). */
export function rule(template: keyof typeof sources, text: string): string {
  const lines = sources[template].flatMap((l, i) => (l.trim().startsWith(text) ? [i + 1] : []));
  assert.equal(lines.length, 1, `${lines.length} lines start with "${text}" in ${template}'s source`);
  return `${template}:${lines[0]}`;
}

/**
 * The circuit refuses the dishonest batch (built with enforceRules and verifySignatures off, then
 * `tamper`ed), at the rule's own constraint `expected` (see rule()). A gadget used in several places is
 * named with the caller's line too: every entry of an `expected` list must be in the failing chain.
 */
export async function refuses(state: ExchangeState, txs: BatchTx[], expected: string | string[], opts: Partial<BatchOptions> = {}, tamper?: Tamper): Promise<void> {
  const failure = await witnessFailure(state, txs, { enforceRules: false, verifySignatures: false, ...opts }, tamper);
  assert.notEqual(failure, null, "the circuit accepted a batch that breaks the rule");
  for (const at of [expected].flat()) assert.ok(failure!.includes(at), `refused at ${failure!.join(" < ")}, not at ${at}`);
}
