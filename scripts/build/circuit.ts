/**
 * npm run build:circuit -- [--params test|production]: builds the batch circuit (cached under
 * build/circuits/) with INSECURE dev keys and prints the paths of its artifacts as JSON, the arguments the
 * sequencer process takes (--wasm, --zkey, --vkey) and the verifier contract's source. For a real
 * deployment the zkey and vkey come from the phase-2 ceremony (scripts/setup/ceremony.ts) instead.
 */
import { Command, Option } from "commander";
import { PRODUCTION_PARAMS, TEST_PARAMS } from "../../sequencer/protocol/params.ts";
import { isMainModule } from "../lib/mainModule.ts";
import { buildBatchCircuit } from "./batchCircuit.ts";

if (isMainModule(import.meta.url)) {
  const opts = new Command()
    .name("build:circuit")
    .addOption(new Option("--params <set>", "circuit parameter set").choices(["test", "production"]).default("test"))
    .parse()
    .opts<{ params: "test" | "production" }>();
  const c = await buildBatchCircuit(opts.params === "production" ? PRODUCTION_PARAMS : TEST_PARAMS, "dev");
  console.log(JSON.stringify({ wasm: c.wasm, zkey: c.zkey, vkey: c.vkey, verifierSol: c.verifierSol, constraints: c.nConstraints, insecure: c.insecure }, null, 2));
}
