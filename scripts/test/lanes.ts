/**
 * Test lanes: every test file belongs to exactly one lane, decided by its path (the first lane with a
 * matching prefix, else `unit`). `npm test` runs every lane at once (hardhat test nodejs); each lane runs
 * alone with `npm run test:<lane>`:
 *   unit       TypeScript only: no circuit compile or witness, no chain, no prover, no child process (fast lane)
 *   contracts  the custodian and its libraries on Hardhat's in-process chain, and the code that calls it
 *   circuits   compiled circuits (rules, attacks, the dishonest-operator generator, custody properties),
 *              trusted setup, provers and the native addon, and sequencer tests that check batches with the circuit's witness
 *   e2e        whole processes: chain, sequencer, provers, API and SDK together, crash recovery, and the web
 *              page in Chromium (test/web/)
 * test/scripts/test/lanes.test.ts checks that the lanes cover every test file and that no unit test
 * reaches a circuit, a chain or a prover.
 *
 * Usage: npx tsx scripts/test/lanes.ts <lane> [--list]   (runs the lane's files, or lists them)
 */
import { spawnSync } from "node:child_process";
import { sourceFiles } from "../check/dependencies.ts";
import { isMainModule } from "../lib/mainModule.ts";

export const LANE_NAMES = ["unit", "contracts", "circuits", "e2e"] as const;
export type Lane = (typeof LANE_NAMES)[number];

/** Path prefixes of each lane but `unit` (which takes the rest), checked in this order. */
export const LANE_PREFIXES: Readonly<Record<Exclude<Lane, "unit">, readonly string[]>> = {
  e2e: ["test/e2e/", "test/web/", "test/scripts/exchange.test.ts", "test/sequencer/process/main.test.ts"],
  contracts: [
    "test/contracts/",
    "test/scripts/deploy/",
    "test/sequencer/chain/custodianClient.test.ts",
    "test/sequencer/chain/sentTransactions.test.ts",
    "test/sequencer/sdk/custodian.test.ts",
    "test/sequencer/verifier/chainReads.test.ts",
    "test/scripts/exitClaims.test.ts", // the exit's follow-up verbs on a chain with mock verifiers
    "test/sequencer/sdk/exitClaims.test.ts", // the same through the SDK
  ],
  circuits: [
    "test/circuits/",
    "test/property/",
    "test/fpga-prover/",
    "test/scripts/build/circuitBuild.test.ts",
    "test/scripts/setup/",
    "test/sequencer/verifier/chainVerifier.test.ts",
    "test/scripts/exit.test.ts", // a real exit proof (the dev exit circuit)
    "test/sequencer/sdk/exit.test.ts",
    "test/sequencer/service/",
    "test/sequencer/api/stream.test.ts",
    "test/sequencer/crypto/nativeSignatureVerifier.test.ts",
    "test/sequencer/crypto/nativeSigning.test.ts",
  ],
};

/** Every test file under `root`/test, relative to root, sorted. */
export function testFiles(root = "."): string[] {
  return sourceFiles(root, "test").filter((f) => f.endsWith(".test.ts"));
}

/** The lane a test file belongs to. */
export function laneOf(file: string): Lane {
  for (const lane of ["e2e", "contracts", "circuits"] as const) {
    if (LANE_PREFIXES[lane].some((p) => file.startsWith(p))) return lane;
  }
  return "unit";
}

/** The files of one lane. */
export function laneFiles(lane: Lane, root = "."): string[] {
  return testFiles(root).filter((f) => laneOf(f) === lane);
}

if (isMainModule(import.meta.url)) {
  const lane = process.argv[2] as Lane;
  if (!LANE_NAMES.includes(lane)) {
    console.error(`usage: tsx scripts/test/lanes.ts <${LANE_NAMES.join("|")}> [--list]`);
    process.exit(2);
  }
  const files = laneFiles(lane);
  if (process.argv.includes("--list")) {
    console.log(files.join("\n"));
  } else {
    const r = spawnSync("npx", ["hardhat", "test", "nodejs", ...files], { stdio: "inherit" });
    process.exit(r.status ?? 1);
  }
}
