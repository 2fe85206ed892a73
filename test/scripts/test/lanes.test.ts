import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { importEdges } from "../../../scripts/check/dependencies.ts";
import { LANE_NAMES, laneFiles, laneOf, testFiles } from "../../../scripts/test/lanes.ts";

/** Test helpers of the slow machinery: the compiled circuit's rules and witness, sequencer processes. */
const HEAVY = ["test/helpers/circuitRules.ts", "test/helpers/sequencerProvers.ts", "test/helpers/sequencerProcess.ts"];
/** Calls that compile or load a circuit, or prove. */
const HEAVY_CALL = /\b(buildBatchCircuit|buildCircuit|loadBatchCircuit|devSetup|groth16\.fullProve)\(/;

describe("test lanes", () => {
  it("put every test file in exactly one lane, and npm test runs them all", () => {
    const all = testFiles();
    const byLane = LANE_NAMES.flatMap((l) => laneFiles(l));
    assert.deepEqual([...byLane].sort(), all);
    assert.equal(new Set(byLane).size, all.length);
    const scripts = JSON.parse(readFileSync("package.json", "utf8")).scripts as Record<string, string>;
    assert.equal(scripts.test, "hardhat test nodejs");
    for (const l of LANE_NAMES) assert.equal(scripts[`test:${l}`], `tsx scripts/test/lanes.ts ${l}`);
  });

  it("keep the unit lane free of circuits, chains, provers and child processes (import closure)", () => {
    const edges = importEdges(".");
    const imports = new Map<string, string[]>();
    for (const e of edges) imports.set(e.from, [...(imports.get(e.from) ?? []), e.to]);
    const closure = (file: string) => {
      const seen = new Set<string>([file]);
      const todo = [file];
      while (todo.length) for (const next of imports.get(todo.pop()!) ?? []) if (!seen.has(next)) seen.add(next), todo.push(next);
      return seen;
    };
    const unit = laneFiles("unit");
    assert.ok(unit.length > 20, `${unit.length} unit test files`);
    for (const file of unit) {
      const source = readFileSync(file, "utf8");
      assert.doesNotMatch(source, /^import .* from "(hardhat|node:child_process)";$/m, `${file} starts a chain or a process`);
      const reached = [...closure(file)];
      const heavy = reached.filter((f) => HEAVY.some((h) => f.startsWith(h)));
      assert.deepEqual(heavy, [], `${file} reaches ${heavy.join(", ")}`);
      const calling = reached.filter((f) => f.startsWith("test/") && HEAVY_CALL.test(readFileSync(f, "utf8")));
      assert.deepEqual(calling, [], `${file} compiles a circuit or proves (${calling.join(", ")})`);
    }
  });

  it("the lane of a path is decided by its prefix, unit by default", () => {
    assert.equal(laneOf("test/e2e/x.test.ts"), "e2e");
    assert.equal(laneOf("test/contracts/custodian.test.ts"), "contracts");
    assert.equal(laneOf("test/circuits/keys.test.ts"), "circuits");
    assert.equal(laneOf("test/sequencer/matching/engine.test.ts"), "unit");
  });
});
