/**
 * The batch circuit for a parameter set: its main component, built through the cached circuit build
 * (r1cs, wasm, zkey, verification key, Solidity verifier). Tests use TEST_PARAMS, benchmarks and
 * production PRODUCTION_PARAMS.
 */
import { checkParams, paramsId, type CircuitParams } from "../../sequencer/protocol/params.ts";
import { buildCircuit } from "./circuitBuild.ts";

/** The main file of the batch circuit for `p` (refused unless `p` passes checkParams). */
export function batchMainSource(p: CircuitParams): string {
  checkParams(p);
  return [
    "pragma circom 2.1.0;",
    'include "circuits/batch/batch.circom";',
    `component main {public [publicInput]} = Batch(${p.accountLevels}, ${p.balanceLevels}, ${p.orderLevels}, ${p.marketLevels}, ${p.slots}, ${p.derivSlots}, ${p.instruments}, ${p.positionSlots}, ${p.optionInstruments}, ${p.underlyings});`,
    "",
  ].join("\n");
}

export function batchCircuitName(p: CircuitParams): string {
  return `batch_${paramsId(p)}`;
}

export type BatchSetup = Parameters<typeof buildCircuit>[0]["setup"];

export async function buildBatchCircuit(p: CircuitParams, setup: BatchSetup = "dev") {
  return buildCircuit({ name: batchCircuitName(p), mainSource: batchMainSource(p), includeDirs: ["node_modules", "."], setup });
}
