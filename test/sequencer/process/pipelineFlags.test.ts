/**
 * The pipeline's command-line settings: whole numbers from 1 to 99, anything else refused naming its flag; the marking
 * flags all four or none, the registry an address, the keys the marking circuit's (three public inputs).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkMarksRegistry, markingSettings, pipelineSettings } from "../../../sequencer/process/pipelineFlags.ts";

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

describe("marking flags", () => {
  const dir = mkdtempSync(join(tmpdir(), "marking-flags-"));
  const vkey = (nPublic: number) => {
    const path = join(dir, `vkey${nPublic}.json`);
    writeFileSync(path, JSON.stringify({ protocol: "groth16", curve: "bn128", nPublic }));
    return path;
  };
  const wasm = join(dir, "marking.wasm");
  const zkey = join(dir, "marking.zkey");
  writeFileSync(wasm, "");
  writeFileSync(zkey, "");
  const registry = `0x${"12".repeat(20)}`;
  const all = { markingWasm: wasm, markingZkey: zkey, markingVkey: vkey(3), marksRegistry: registry };

  it("none: no marking settings; all four: the keys and the registry", () => {
    assert.deepEqual(markingSettings({}), {});
    const s = markingSettings(all) as { markingKeys: { wasm: string; zkey: string; vkey: { nPublic: number } }; marksRegistry: string };
    assert.equal(s.marksRegistry, registry);
    assert.equal(s.markingKeys.wasm, wasm);
    assert.equal(s.markingKeys.zkey, zkey);
    assert.equal(s.markingKeys.vkey.nPublic, 3);
  });

  it("refuses some without the others, a registry that is no address, a missing file and another circuit's key, naming the flag", () => {
    assert.throws(() => markingSettings({ ...all, marksRegistry: undefined }), /go together.*got only --marking-wasm, --marking-zkey, --marking-vkey\)/);
    assert.throws(() => markingSettings({ marksRegistry: registry }), /go together.*got only --marks-registry\)/);
    assert.throws(() => markingSettings({ ...all, marksRegistry: "0x12" }), /--marks-registry 0x12: not an address/);
    assert.throws(() => markingSettings({ ...all, markingZkey: join(dir, "none.zkey") }), /--marking-zkey .*none\.zkey: no such file/);
    assert.throws(() => markingSettings({ ...all, markingVkey: vkey(2) }), /--marking-vkey .*: not a Groth16 BN254 verification key with 3 public inputs \(the marking circuit's/);
  });

  it("checkMarksRegistry: the flags must name the custodian's registry; a custodian with one needs them, one without takes none", () => {
    const none = "0x0000000000000000000000000000000000000000";
    const other = `0x${"34".repeat(20)}`;
    const settings = markingSettings(all);
    assert.doesNotThrow(() => checkMarksRegistry(registry as `0x${string}`, settings));
    assert.doesNotThrow(() => checkMarksRegistry(registry.toUpperCase().replace("0X", "0x") as `0x${string}`, settings), "addresses compare without case");
    assert.doesNotThrow(() => checkMarksRegistry(none, {}));
    assert.throws(() => checkMarksRegistry(other as `0x${string}`, settings), new RegExp(`--marks-registry ${registry} is not the custodian's marks registry ${other}`));
    assert.throws(() => checkMarksRegistry(registry as `0x${string}`, {}), new RegExp(`the custodian reads option marks from the marks registry ${registry}: pass --marking-wasm`));
    assert.throws(() => checkMarksRegistry(none, settings), /the custodian has no marks registry \(it lists no option\)/);
  });
});
