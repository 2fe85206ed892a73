import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { dependencyPicture, forbiddenImports, importEdges, moduleCycles, moduleOf } from "../../../scripts/check/dependencies.ts";

describe("dependency rules", () => {
  const edges = importEdges(".");

  it("no forbidden import: product code never reaches scripts/ or test/, the SDK never the API or the service", () => {
    assert.ok(edges.length > 500, `${edges.length} imports read`);
    assert.deepEqual(forbiddenImports(edges).map((b) => `${b.from} -> ${b.to}: ${b.why}`), []);
  });

  it("the check finds a forbidden import when there is one", () => {
    const bad = forbiddenImports([{ from: "sequencer/sdk/client.ts", to: "sequencer/api/server.ts" }, { from: "sequencer/sdk/client.ts", to: "sequencer/wire/schemas.ts" }]);
    assert.deepEqual(bad.map((b) => b.to), ["sequencer/api/server.ts"]);
  });

  it("no module cycle: every dependency between modules points one way", () => {
    assert.deepEqual(moduleCycles(dependencyPicture(edges)), []);
  });

  it("the check finds a module cycle when there is one, direct or around a loop", () => {
    const picture = dependencyPicture([
      { from: "sequencer/derivatives/a.ts", to: "sequencer/state/b.ts" },
      { from: "sequencer/state/b.ts", to: "sequencer/derivatives/c.ts" },
      { from: "sequencer/api/a.ts", to: "sequencer/wire/b.ts" },
      { from: "sequencer/wire/b.ts", to: "sequencer/protocol/c.ts" },
      { from: "sequencer/protocol/c.ts", to: "sequencer/api/d.ts" },
      { from: "sequencer/batch/a.ts", to: "sequencer/state/b.ts" },
    ]);
    assert.deepEqual(moduleCycles(picture), [
      ["sequencer/api", "sequencer/protocol", "sequencer/wire"],
      ["sequencer/derivatives", "sequencer/state"],
    ]);
  });

  it("reads the sources of folders named build (scripts/build/ is source; build outputs sit at the root)", () => {
    assert.ok(edges.some((e) => e.from.startsWith("scripts/build/")), "scripts/build/ imports are read");
    assert.ok(edges.some((e) => e.from.startsWith("test/scripts/build/")), "test/scripts/build/ imports are read");
  });

  it("the picture counts imports between modules, not within one", () => {
    assert.equal(moduleOf("sequencer/api/server.ts"), "sequencer/api");
    assert.equal(moduleOf("test/e2e/x.test.ts"), "test");
    const picture = dependencyPicture([
      { from: "sequencer/api/a.ts", to: "sequencer/wire/b.ts" },
      { from: "sequencer/api/a.ts", to: "sequencer/wire/c.ts" },
      { from: "sequencer/api/a.ts", to: "sequencer/api/d.ts" },
    ]);
    assert.deepEqual([...picture], [["sequencer/api -> sequencer/wire", 2]]);
  });
});
