/**
 * The marking circuit (circuits/marking/marking.circom, DERIVATIVES.md "Marking proofs") for a parameter set, built
 * through the cached circuit build like the batch and exit circuits: r1cs, wasm, dev or ceremony zkey, verification
 * key, and the verifier contract the marks registry calls (BatchGroth16Verifier_marking_<params>_l<levels>, with
 * `verifyFlatProof`). Its size follows the set's oracle message (option ids, underlyings, instruments) and the tree's
 * levels (markingLevels: one proof marks every option id of the table).
 *
 * npx tsx scripts/build/markingCircuit.ts [--params test|devnet|production|wide] [--levels L]: builds it with INSECURE
 * dev keys and prints the artifacts' paths and the constraint count as JSON.
 */
import { Command, Option } from "commander";
import { markingLevels } from "../../sequencer/derivatives/marking.ts";
import { checkParams, paramsId, PARAMS_NAMES, PARAMS_SETS, type CircuitParams, type ParamsName } from "../../sequencer/protocol/params.ts";
import { isMainModule } from "../lib/mainModule.ts";
import { terminateSnarkjsCurve } from "../setup/zkLibs.ts";
import { buildCircuit } from "./circuitBuild.ts";
import { loadCircuitArtifacts } from "../../fpga-prover/artifacts.ts";
import type { CircuitKeys } from "../../fpga-prover/device.ts";
import { MARKING_PUBLIC_INPUTS } from "../../sequencer/chain/marksRegistry.ts";

/** The main file of the marking circuit of `levels` levels for `p` (refused unless `p` passes checkParams). */
export function markingMainSource(p: CircuitParams, levels = markingLevels(p)): string {
  checkParams(p);
  if (!Number.isInteger(levels) || levels < 1 || levels > 5) throw new RangeError(`marking levels ${levels}: 1..5 (up to 1,024 options)`);
  return [
    "pragma circom 2.1.0;",
    'include "circuits/marking/marking.circom";',
    `component main {public [messageHash, marksRoot, marksKey]} = Marking(${levels}, ${p.optionInstruments}, ${p.underlyings}, ${p.instruments});`,
    "",
  ].join("\n");
}

export function markingCircuitName(p: CircuitParams, levels = markingLevels(p)): string {
  return `marking_${paramsId(p)}_l${levels}`;
}

export type MarkingSetup = Parameters<typeof buildCircuit>[0]["setup"];

/** The prover's keys of a built marking circuit (checked: loadCircuitArtifacts with a marking proof's 3 public inputs): SequencerOptions.markingKeys. */
export function markingKeysOf(c: { wasm: string; zkey: string; vkey: string }): CircuitKeys {
  return loadCircuitArtifacts({ wasm: c.wasm, zkey: c.zkey, vkey: c.vkey }, MARKING_PUBLIC_INPUTS, { circuit: "marking", flagPrefix: "marking-" });
}

/** The sequencer process's marking flags (pipelineFlags.ts#markingSettings) for a built marking circuit and the deployed registry. */
export function markingProcessFlags(c: { wasm: string; zkey: string; vkey: string }, marksRegistry: string): string[] {
  return ["--marking-wasm", c.wasm, "--marking-zkey", c.zkey, "--marking-vkey", c.vkey, "--marks-registry", marksRegistry];
}

/** Builds (or finds in build/circuits/) the marking circuit for `p`: the same shape as buildBatchCircuit's. */
export async function buildMarkingCircuit(p: CircuitParams, setup: MarkingSetup = "dev", levels = markingLevels(p)) {
  return buildCircuit({ name: markingCircuitName(p, levels), mainSource: markingMainSource(p, levels), includeDirs: ["node_modules", "."], setup });
}

if (isMainModule(import.meta.url)) {
  const opts = new Command()
    .name("markingCircuit")
    .addOption(new Option("--params <set>", "circuit parameter set").choices(PARAMS_NAMES).default("test"))
    .option("--levels <l>", "levels of the marks tree (4^l options per proof; default: every option id of the set)")
    .parse()
    .opts<{ params: ParamsName; levels?: string }>();
  const p = PARAMS_SETS[opts.params];
  const c = await buildMarkingCircuit(p, "dev", opts.levels === undefined ? markingLevels(p) : Number(opts.levels));
  const unjustified = c.inspect.filter((w) => !w.library && !w.justification);
  console.log(JSON.stringify({ wasm: c.wasm, zkey: c.zkey, vkey: c.vkey, verifierSol: c.verifierSol, contractName: c.contractName, constraints: c.nConstraints, insecure: c.insecure, unjustifiedInspectWarnings: unjustified }, null, 2));
  await terminateSnarkjsCurve(); // a fresh build leaves snarkjs's curve workers running
}
