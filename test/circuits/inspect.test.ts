/**
 * `circom2 --inspect` on the batch circuit (circuits/SPEC.md, "Build checks"): every warning about our
 * circuits is fixed or justified by an `inspect:` comment on the declaring line or the line above. One
 * test per circuit file, so a file's owner sees its own list. The build is the test-size one the other
 * circuit tests use (cached), so this adds no compile.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { buildBatchCircuit } from "../../scripts/build/batchCircuit.ts";
import { REPO_ROOT } from "../../scripts/build/circuitBuild.ts";
import { formatWarning, unjustifiedByFile, type InspectWarning } from "../../scripts/build/circomInspect.ts";
import { terminateSnarkjsCurve } from "../../scripts/setup/zkLibs.ts";
import { TEST_PARAMS } from "../../sequencer/protocol/params.ts";

// A circuit build that is not cached yet leaves snarkjs's curve workers running: end them so the file exits.
after(terminateSnarkjsCurve);

function circuitFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? circuitFiles(p) : e.endsWith(".circom") ? [relative(REPO_ROOT, p).split("\\").join("/")] : [];
  });
}

describe("circom2 --inspect: the batch circuit's warnings are fixed or justified", { timeout: 1_800_000 }, () => {
  let unjustified: Map<string, InspectWarning[]>;
  before(async () => {
    unjustified = unjustifiedByFile((await buildBatchCircuit(TEST_PARAMS)).inspect);
  });

  for (const file of circuitFiles(join(REPO_ROOT, "circuits")).sort()) {
    it(file, () => {
      const ws = unjustified.get(file) ?? [];
      assert.equal(ws.length, 0, `${ws.length} unjustified:\n${ws.map(formatWarning).join("\n")}`);
    });
  }

  it("every warning is located in a circuit file or a library", () => {
    const elsewhere = [...unjustified].filter(([file]) => !file.startsWith("circuits/"));
    assert.deepEqual(elsewhere.map(([file, ws]) => `${file}: ${ws.map(formatWarning).join("; ")}`), []);
  });
});
