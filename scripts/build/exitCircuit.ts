/**
 * The exodus exit circuit (circuits/exit/exit.circom, EXIT.md) for a parameter set, built through the
 * cached circuit build like the batch circuit (r1cs, wasm, dev or ceremony zkey, verification key, and snarkjs's
 * Solidity verifier named Groth16Verifier_exit_<params>, from which compileBatchVerifier generates the one the
 * custodian calls, BatchGroth16Verifier_exit_<params> with `verifyFlatProof`).
 *
 * npx tsx scripts/build/exitCircuit.ts [--params test|devnet|production]: builds it with INSECURE dev keys and
 * prints the artifacts' paths and the constraint count as JSON.
 */
import { Command, Option } from "commander";
import { checkParams, paramsId, PARAMS_NAMES, PARAMS_SETS, type CircuitParams, type ParamsName } from "../../sequencer/protocol/params.ts";
import { isMainModule } from "../lib/mainModule.ts";
import { terminateSnarkjsCurve } from "../setup/zkLibs.ts";
import { buildCircuit } from "./circuitBuild.ts";

/** The main file of the exit circuit for `p` (refused unless `p` passes checkParams). */
export function exitMainSource(p: CircuitParams): string {
  checkParams(p);
  return [
    "pragma circom 2.1.0;",
    'include "circuits/exit/exit.circom";',
    `component main {public [publicInput]} = Exit(${p.accountLevels}, ${p.balanceLevels}, ${p.instruments}, ${p.positionSlots}, ${p.underlyings});`,
    "",
  ].join("\n");
}

export function exitCircuitName(p: CircuitParams): string {
  return `exit_${paramsId(p)}`;
}

export type ExitSetup = Parameters<typeof buildCircuit>[0]["setup"];

/** Builds (or finds in build/circuits/) the exit circuit for `p`: the same shape as buildBatchCircuit's. */
export async function buildExitCircuit(p: CircuitParams, setup: ExitSetup = "dev") {
  return buildCircuit({ name: exitCircuitName(p), mainSource: exitMainSource(p), includeDirs: ["node_modules", "."], setup });
}

if (isMainModule(import.meta.url)) {
  const opts = new Command()
    .name("exitCircuit")
    .addOption(new Option("--params <set>", "circuit parameter set").choices(PARAMS_NAMES).default("test"))
    .parse()
    .opts<{ params: ParamsName }>();
  const c = await buildExitCircuit(PARAMS_SETS[opts.params], "dev");
  const unjustified = c.inspect.filter((w) => !w.library && !w.justification);
  console.log(JSON.stringify({ wasm: c.wasm, zkey: c.zkey, vkey: c.vkey, verifierSol: c.verifierSol, contractName: c.contractName, constraints: c.nConstraints, insecure: c.insecure, unjustifiedInspectWarnings: unjustified }, null, 2));
  await terminateSnarkjsCurve(); // a fresh build leaves snarkjs's curve workers running
}
