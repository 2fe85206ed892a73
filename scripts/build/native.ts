/**
 * npm run build:native: builds the native prover addon (fpga-prover/native/build.ts). With --optional (what
 * npm install runs) a machine without a C++ toolchain still installs, and the prover says once, at start,
 * that it falls back to snarkjs.
 */
import { buildNative } from "../../fpga-prover/native/build.ts";
import { isMainModule } from "../lib/mainModule.ts";

if (isMainModule(import.meta.url)) {
  if (process.argv.includes("--optional")) {
    try {
      buildNative();
    } catch (e) {
      console.warn(`native prover not built (${(e as Error).message.split("\n")[0]}); snarkjs will be used`);
    }
  } else buildNative();
}
