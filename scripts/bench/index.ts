/**
 * `npm run bench`: every benchmark section in one run, printed as markdown tables on stdout (progress
 * on stderr). Benchmarks, not tests: each section prints its figures beside a baseline measured in the
 * same process (Poseidon(4) for sequencer work, a same-size chain circuit for proving, verifyProof and
 * the all-NOOP batch for gas).
 *
 *   npm run bench                                 # all sections
 *   npm run bench -- constraints prove            # chosen sections (constraints, derivatives, sequencer, prove, gas, gas-profile)
 *   npm run bench -- --gas-slots=2,4,8 --quick    # other gas circuit sizes; fewer sequencer runs
 *
 * Sections alone: npx tsx scripts/bench/{constraints,derivativesConstraints,sequencerCost,prove,gas,gasProfile}.ts
 */
import { runConstraints } from "./constraints.ts";
import { runDerivativesConstraints, runScaleBlocks } from "./derivativesConstraints.ts";
import { runGas } from "./gas.ts";
import { runGasProfile } from "./gasProfile.ts";
import { runProve } from "./prove.ts";
import { runSequencerCost } from "./sequencerCost.ts";
import { machineLine } from "./util.ts";

const SECTIONS = ["constraints", "derivatives", "sequencer", "prove", "gas", "gas-profile"] as const;
const args = process.argv.slice(2);
const flag = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
const chosen = args.filter((a) => !a.startsWith("--"));
for (const c of chosen) if (!(SECTIONS as readonly string[]).includes(c)) throw new Error(`unknown section "${c}" (${SECTIONS.join(", ")})`);
const run = (s: (typeof SECTIONS)[number]) => chosen.length === 0 || chosen.includes(s);

const t0 = performance.now();
const timings: string[] = [];
const timed = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
  const t = performance.now();
  const r = await f();
  timings.push(`${name} ${((performance.now() - t) / 1000).toFixed(0)} s`);
  return r;
};

console.log(`# Benchmarks (${new Date().toISOString()})\n\n${machineLine()}`);
let prodPerSlot: number | undefined;
if (run("constraints")) {
  const c = await timed("constraints", runConstraints);
  prodPerSlot = c.estimates.find((e) => e.label === "PRODUCTION" && e.slots === 32)?.constraints;
  if (prodPerSlot) prodPerSlot /= 32;
}
if (run("derivatives")) await timed("derivatives", async () => {
  await runDerivativesConstraints();
  await runScaleBlocks();
});
if (run("sequencer")) await timed("sequencer", () => runSequencerCost({ quick: args.includes("--quick"), prodConstraintsPerSlot: prodPerSlot }));
if (run("prove")) await timed("prove", () => runProve({ runs: Number(flag("prove-runs") ?? 3) }));
if (run("gas")) await timed("gas", () => runGas({ slots: flag("gas-slots")?.split(",").map(Number) }));
if (run("gas-profile")) await timed("gas-profile", () => runGasProfile());
console.log(`\nTotal ${((performance.now() - t0) / 1000).toFixed(0)} s (${timings.join(", ")}).`);
// snarkjs leaves worker threads behind; the tables are printed.
process.exit(0);
