/**
 * `circom2 --inspect` on the batch circuit and the marking circuit (circuits/SPEC.md, "Build checks"): every warning about our
 * circuits is fixed or justified by an `inspect:` comment on the declaring line or the line above. One
 * test per circuit file, so a file's owner sees its own list. The builds are the test-size ones the other
 * circuit tests use (cached), so this adds no compile.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { buildBatchCircuit } from "../../scripts/build/batchCircuit.ts";
import { buildMarkingCircuit } from "../../scripts/build/markingCircuit.ts";
import { REPO_ROOT } from "../../scripts/build/circuitBuild.ts";
import { circomFilesUnder, formatWarning, parseInspectOutput, pathLabel, readSources, unjustifiedByFile, type InspectWarning } from "../../scripts/build/circomInspect.ts";
import { compileMain } from "./fixed/compile.ts";
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

describe("circom2 --inspect: the batch and marking circuits' warnings are fixed or justified", { timeout: 1_800_000 }, () => {
  let unjustified: Map<string, InspectWarning[]>;
  before(async () => {
    unjustified = unjustifiedByFile([...(await buildBatchCircuit(TEST_PARAMS)).inspect, ...(await buildMarkingCircuit(TEST_PARAMS)).inspect]);
  });

  for (const file of circuitFiles(join(REPO_ROOT, "circuits")).sort()) {
    it(file, () => {
      const ws = unjustified.get(file) ?? [];
      assert.equal(ws.length, 0, `${ws.length} unjustified:\n${ws.map(formatWarning).join("\n")}`);
    });
  }

  // No batch circuit instantiates BlackScholes(1) (the exchange's rate is 0: OracleStep proves BlackScholes(0)), so its
  // own branch is compiled alone here (a review of 2026-12-06 found its range check's justification on the wrong line).
  it("BlackScholes(1), the general-rate form no batch circuit uses: every warning about our circuits justified", async () => {
    const { inspect } = await compileMain("BlackScholesInspect", "component main = BlackScholes(1);", undefined, { inspect: true });
    const sources = [
      ...readSources(REPO_ROOT, await circomFilesUnder(join(REPO_ROOT, "node_modules", "circomlib", "circuits"))),
      ...readSources(REPO_ROOT, await circomFilesUnder(join(REPO_ROOT, "circuits"))),
    ];
    const warnings = parseInspectOutput(inspect!, sources, (printed) => pathLabel(REPO_ROOT, REPO_ROOT, printed));
    assert.ok(warnings.some((w) => w.file === "circuits/lib/fixed/blackScholes.circom"), "the gadget's own warnings were read");
    const ws = [...unjustifiedByFile(warnings).values()].flat();
    assert.equal(ws.length, 0, `${ws.length} unjustified:\n${ws.map(formatWarning).join("\n")}`);
  });

  it("every warning is located in a circuit file or a library", () => {
    const elsewhere = [...unjustified].filter(([file]) => !file.startsWith("circuits/"));
    assert.deepEqual(elsewhere.map(([file, ws]) => `${file}: ${ws.map(formatWarning).join("; ")}`), []);
  });
});
