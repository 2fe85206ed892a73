/**
 * The sequencer process refuses bad arguments with a clear message before it touches the chain or its
 * data directory (the RPC given here does not exist, so reaching it would fail differently).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { publicDataBytes, TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { publicInputCount } from "../../../sequencer/protocol/publicData.ts";

/** Stand-in artifact files: the process checks they exist and the verification key's kind before anything else. */
const artifacts = mkdtempSync(join(tmpdir(), "sequencer-artifacts-"));
const [wasm, zkey, vkey, wrongVkey] = ["batch.wasm", "batch.zkey", "batch.vkey.json", "other.vkey.json"].map((n) => join(artifacts, n));
writeFileSync(wasm, "");
writeFileSync(zkey, "");
/** The test-size batch circuit's public inputs (its public data in 31-byte chunks), what --params test expects. */
const TEST_INPUTS = publicInputCount(publicDataBytes(TEST_PARAMS));
writeFileSync(vkey, JSON.stringify({ protocol: "groth16", curve: "bn128", nPublic: TEST_INPUTS }));
// one public input: the batch circuit's key from before the public data became its public inputs
writeFileSync(wrongVkey, JSON.stringify({ protocol: "groth16", curve: "bn128", nPublic: 1 }));

function run(...extra: string[]): { status: number | null; stderr: string; dataTouched: boolean } {
  const dir = mkdtempSync(join(tmpdir(), "sequencer-args-"));
  try {
    const r = spawnSync(process.execPath, [
      "--import", "tsx", "sequencer/process/main.ts", "--data", join(dir, "data"), "--rpc", "http://127.0.0.1:9", "--dev-operator",
      "--custodian", "0x00000000000000000000000000000000000000c5", "--wasm", wasm, "--zkey", zkey, "--vkey", vkey, ...extra,
    ], { encoding: "utf8", env: { ...process.env, SEQUENCER_LIQUIDATOR_KEY: undefined }, timeout: 60_000 });
    return { status: r.status, stderr: r.stderr, dataTouched: existsSync(join(dir, "data")) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("sequencer process arguments", () => {
  for (const [what, args, message] of [
    ["a liquidator account without its key", ["--liquidator-account", "4"], /--liquidator-account and --liquidator-key go together/],
    ["a liquidator key without its account", ["--liquidator-key", `0x${"11".repeat(32)}`], /--liquidator-account and --liquidator-key go together/],
    ["a liquidator key that is not 32 bytes", ["--liquidator-account", "4", "--liquidator-key", "0x1234"], /--liquidator-key: 32 bytes of hex/],
    ["a liquidator account that is not an id", ["--liquidator-account", "-1", "--liquidator-key", `0x${"11".repeat(32)}`], /--liquidator-account: an account id/],
    ["a custodian that is not an address", ["--custodian", "0x12"], /--custodian 0x12 is not an address/],
    ["a proving key that is not there", ["--zkey", join(artifacts, "missing.zkey")], /--zkey .*missing\.zkey: no such file/],
    ["a verification key of another circuit", ["--vkey", wrongVkey], new RegExp(`--vkey .*other\\.vkey\\.json: not a Groth16 BN254 verification key with ${TEST_INPUTS} public inputs .*it has 1`)],
    ["a prover queue that is not a PostgreSQL URL", ["--prover-queue", "http://127.0.0.1:9"], /--prover-queue http:\/\/127\.0\.0\.1:9: not a postgres:\/\/ URL/],
    ["a confirmation depth that is not a block count", ["--confirmations", "-1"], /--confirmations -1: a whole number of blocks, at least 0/],
    ["a log range of no blocks", ["--log-range", "0"], /--log-range 0: a whole number of blocks, at least 1/],
  ] as const) {
    it(`refuses ${what}, touching nothing`, () => {
      const r = run(...args);
      assert.equal(r.status, 1);
      assert.match(r.stderr, message);
      assert.equal(r.dataTouched, false);
    });
  }
});
