/**
 * The three circuits a deployment needs, built for one parameter set: the batch circuit (the custodian's batch
 * verifier, the sequencer's proving key), the exit circuit (the custodian's exit verifier, every trader's exit
 * proof) and the marking circuit (the marks registry's verifier, the sequencer's marking proofs). With INSECURE development keys by default; with `--ptau`, with phase-2 ceremony keys on that public
 * powers-of-tau file (scripts/setup/ceremony.ts: `contributions` simulated contributions, then the beacon).
 * Prints the artifacts of the three and the `npm run deploy` command that takes their verifiers, which go together.
 *
 *   npx tsx scripts/build/circuits.ts [--params production] [--ptau F.ptau --contributions N --beacon HEX [--beacon-iterations E]]
 */
import { Command, Option } from "commander";
import { PARAMS_NAMES, PARAMS_SETS, type ParamsName } from "../../sequencer/protocol/params.ts";
import { isMainModule } from "../lib/mainModule.ts";
import { terminateSnarkjsCurve } from "../setup/zkLibs.ts";
import { buildBatchCircuit } from "./batchCircuit.ts";
import type { CeremonySetup } from "./circuitBuild.ts";
import { buildExitCircuit } from "./exitCircuit.ts";
import { buildMarkingCircuit } from "./markingCircuit.ts";

export type KeyOptions = { ptau?: string; contributions?: string; beacon?: string; beaconIterations?: string };

/**
 * The setup the options ask for: "dev" without `--ptau`; with it, a ceremony of `--contributions` (at least 1)
 * contributions and the `--beacon` (hex, required: public randomness fixed in advance). Throws on a ceremony option
 * without `--ptau`, a missing or malformed beacon, or a bad count.
 */
export function keySetup(o: KeyOptions): "dev" | CeremonySetup {
  if (o.ptau === undefined) {
    if (o.contributions !== undefined || o.beacon !== undefined || o.beaconIterations !== undefined) {
      throw new Error("--contributions, --beacon and --beacon-iterations are ceremony options: give --ptau too");
    }
    return "dev";
  }
  const contributions = Number(o.contributions ?? "1");
  if (!Number.isInteger(contributions) || contributions < 1) throw new Error(`--contributions ${o.contributions}: a whole number >= 1`);
  if (o.beacon === undefined || !/^(0x)?([0-9a-fA-F]{2}){1,255}$/.test(o.beacon)) {
    throw new Error(`--beacon ${o.beacon ?? "(missing)"}: the beacon's public randomness, 1 to 255 bytes of hex (e.g. a block hash fixed in advance)`);
  }
  const beaconIterationsExp = o.beaconIterations === undefined ? undefined : Number(o.beaconIterations);
  if (beaconIterationsExp !== undefined && !(Number.isInteger(beaconIterationsExp) && beaconIterationsExp >= 10 && beaconIterationsExp <= 63)) {
    throw new Error(`--beacon-iterations ${o.beaconIterations}: an exponent in 10..63`);
  }
  return { ptau: o.ptau, contributions, beacon: o.beacon.replace(/^0x/, ""), ...(beaconIterationsExp !== undefined && { beaconIterationsExp }) };
}

if (isMainModule(import.meta.url)) {
  const opts = new Command()
    .name("circuits")
    .addOption(new Option("--params <set>", "circuit parameter set").choices(PARAMS_NAMES).default("production"))
    .option("--ptau <file>", "prepared powers-of-tau file for ceremony keys (default: INSECURE development keys)")
    .option("--contributions <n>", "simulated phase-2 contributions (with --ptau; default 1)")
    .option("--beacon <hex>", "the final beacon's public randomness (with --ptau)")
    .option("--beacon-iterations <e>", "the beacon hashes 2^e times, 10..63 (with --ptau; default 10)")
    .parse()
    .opts<KeyOptions & { params: ParamsName }>();
  const setup = keySetup(opts);
  const params = PARAMS_SETS[opts.params];
  const describe = (c: Awaited<ReturnType<typeof buildBatchCircuit>>) => ({
    constraints: c.nConstraints, insecure: c.insecure, r1cs: c.r1cs, wasm: c.wasm, zkey: c.zkey, vkey: c.vkey, verifierSol: c.verifierSol,
  });
  const batch = await buildBatchCircuit(params, setup);
  const exit = await buildExitCircuit(params, setup);
  const marking = await buildMarkingCircuit(params, setup);
  console.log(JSON.stringify({
    params: opts.params,
    batch: describe(batch),
    exit: describe(exit),
    marking: describe(marking),
    deploy: `npm run deploy -- --params ${opts.params} --verifier ${batch.verifierSol} --exit-verifier ${exit.verifierSol} --marking-verifier ${marking.verifierSol}`,
  }, null, 2));
  await terminateSnarkjsCurve();
}
