/** The pipeline's command-line settings: whole numbers from 1 to 99, anything else refused naming its flag. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { pipelineSettings } from "../../../sequencer/process/pipelineFlags.ts";

describe("pipeline flags", () => {
  it("reads both settings as numbers", () => {
    assert.deepEqual(pipelineSettings({ pipelineDepth: "4", batchesPerPost: "3" }), { pipelineDepth: 4, batchesPerPost: 3 });
    assert.deepEqual(pipelineSettings({ pipelineDepth: "1", batchesPerPost: "99" }), { pipelineDepth: 1, batchesPerPost: 99 });
  });

  it("refuses zero, negatives, fractions, leading zeros, hex and over 99, naming the flag", () => {
    for (const bad of ["0", "-1", "1.5", "02", "0x2", "100", "", " 2"]) {
      assert.throws(() => pipelineSettings({ pipelineDepth: bad, batchesPerPost: "1" }), new RegExp(`--pipeline-depth ${bad.replace(/[.+]/g, "\\$&")}: a number from 1 to 99`));
      assert.throws(() => pipelineSettings({ pipelineDepth: "1", batchesPerPost: bad }), /--batches-per-post .*: a number from 1 to 99/);
    }
  });
});
