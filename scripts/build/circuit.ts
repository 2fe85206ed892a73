/**
 * npm run build:circuit -- [--params test|devnet|production]: builds the batch circuit (cached under
 * build/circuits/) with INSECURE dev keys and prints the paths of its artifacts as JSON, the arguments the
 * sequencer process takes (--wasm, --zkey, --vkey) and the verifier contract's source. For a real
 * deployment the zkey and vkey come from the phase-2 ceremony (scripts/setup/ceremony.ts) instead.
 */
import { Command, Option } from "commander";
import { PARAMS_NAMES, PARAMS_SETS, type ParamsName } from "../../sequencer/protocol/params.ts";
import { isMainModule } from "../lib/mainModule.ts";
import { terminateSnarkjsCurve } from "../setup/zkLibs.ts";
import { buildBatchCircuit } from "./batchCircuit.ts";

if (isMainModule(import.meta.url)) {
  const opts = new Command()
    .name("build:circuit")
    .addOption(new Option("--params <set>", "circuit parameter set").choices(PARAMS_NAMES).default("test"))
    .parse()
    .opts<{ params: ParamsName }>();
  const c = await buildBatchCircuit(PARAMS_SETS[opts.params], "dev");
  console.log(JSON.stringify({ wasm: c.wasm, zkey: c.zkey, vkey: c.vkey, verifierSol: c.verifierSol, constraints: c.nConstraints, insecure: c.insecure }, null, 2));
  await terminateSnarkjsCurve(); // a fresh build leaves snarkjs's curve workers running, and the process would never exit
}
