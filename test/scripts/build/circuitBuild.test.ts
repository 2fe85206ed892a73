// Cached circuit builds: outputs, cache hits, cache keys, atomicity, and the exported verifier on the EVM.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { randomBytes } from "node:crypto";
import { join, relative } from "node:path";
import { network } from "hardhat";
import { buildPoseidon } from "circomlibjs";
import type { Abi, Hex } from "viem";
import { buildCircuit, computeCacheKey, REPO_ROOT, type CircuitBuild } from "../../../scripts/build/circuitBuild.ts";
import { assertInspectClean, circomFilesUnder, parseInspectOutput, readSources, unjustifiedByFile } from "../../../scripts/build/circomInspect.ts";
import { loadSnarkjs, terminateSnarkjsCurve, type Snarkjs, type VerificationKey } from "../../../scripts/setup/zkLibs.ts";
import { FIXTURES, scratchDir } from "../helpers.ts";

const require = createRequire(import.meta.url);
const NAME = "buildTest";
const BUILD_DIR = join(REPO_ROOT, "build", "circuits");

describe("buildCircuit (cached builds)", { timeout: 120_000 }, () => {
  let snarkjs: Snarkjs;
  let source: string;
  let first: CircuitBuild;
  const made: string[] = [];
  let input: Record<string, string | string[]>;

  before(async () => {
    snarkjs = await loadSnarkjs();
    // a salt makes the first build a cache miss on every run
    source = (await readFile(join(FIXTURES, "poseidonProduct.circom"), "utf8")) + `\n// salt ${randomBytes(8).toString("hex")}\n`;
    first = await buildCircuit({ name: NAME, mainSource: source, setup: "dev", log: () => {} });
    made.push(first.dir);
    const poseidon = await buildPoseidon();
    const factors = Array.from({ length: 16 }, (_, i) => BigInt(i + 2));
    input = {
      hash: poseidon.F.toObject(poseidon([1n, 2n])).toString(),
      product: factors.reduce((a, b) => a * b, 1n).toString(),
      preimage: ["1", "2"],
      factors: factors.map(String),
    };
  });

  after(async () => {
    await terminateSnarkjsCurve();
    for (const d of made) await rm(d, { recursive: true, force: true });
  });

  it("builds r1cs, wasm, zkey, vkey and a verifier named after the circuit", async () => {
    assert.equal(first.cached, false);
    assert.equal(first.insecure, true);
    assert.equal(first.nConstraints, 255);
    assert.match(first.cacheKey, /^[0-9a-f]{64}$/);
    assert.equal(relative(REPO_ROOT, first.dir), join("build", "circuits", `${NAME}-${first.cacheKey.slice(0, 12)}`));
    for (const f of [first.r1cs, first.wasm, first.zkey, first.vkey, first.verifierSol]) assert.ok(existsSync(f), f);
    assert.equal(first.contractName, "Groth16Verifier_buildTest");
    const sol = await readFile(first.verifierSol, "utf8");
    assert.match(sol, /^\/\/ INSECURE DEVELOPMENT VERIFIER/);
    assert.match(sol, /contract Groth16Verifier_buildTest \{/);
    assert.doesNotMatch(sol, /contract Groth16Verifier \{/);
    const vkey = JSON.parse(await readFile(first.vkey, "utf8")) as VerificationKey;
    assert.deepEqual(vkey, await snarkjs.zKey.exportVerificationKey(first.zkey));
    const { proof, publicSignals } = await snarkjs.groth16.fullProve(input, first.wasm, first.zkey);
    assert.equal(await snarkjs.groth16.verify(vkey, publicSignals, proof), true);
    // nothing half-built left behind
    const leftovers = (await readdir(BUILD_DIR)).filter((e) => e.includes(first.cacheKey.slice(0, 12)) && e.startsWith("."));
    assert.deepEqual(leftovers, []);
  });

  it("returns a cached build at once, without recompiling", async () => {
    const zkeyMtime = (await stat(first.zkey)).mtimeMs;
    const t = performance.now();
    const again = await buildCircuit({ name: NAME, mainSource: source, setup: "dev", log: () => {} });
    const ms = performance.now() - t;
    assert.equal(again.cached, true);
    assert.ok(ms < 1000, `cached call took ${ms.toFixed(0)} ms`);
    assert.deepEqual({ ...again, cached: false }, first);
    assert.equal((await stat(first.zkey)).mtimeMs, zkeyMtime);
  });

  it("keys the cache on the source, include dirs' circuits and the setup", async () => {
    const s = await scratchDir("cacheKey");
    try {
      const base = { name: NAME, mainSource: source, setup: "dev" as const };
      const k0 = await computeCacheKey(base);
      assert.equal(k0, first.cacheKey);
      assert.notEqual(await computeCacheKey({ ...base, mainSource: source + " " }), k0);
      assert.notEqual(await computeCacheKey({ ...base, name: "other" }), k0);
      const ptau = join(s.dir, "fake.ptau");
      await writeFile(ptau, "x");
      const ceremony = { ptau, contributions: 1, beacon: "aa" };
      const kc = await computeCacheKey({ ...base, setup: ceremony });
      assert.notEqual(kc, k0);
      assert.notEqual(await computeCacheKey({ ...base, setup: { ...ceremony, contributions: 2 } }), kc);
      // a library circuit in an include dir
      const inc = relative(REPO_ROOT, s.dir);
      const k1 = await computeCacheKey({ ...base, includeDirs: [inc] });
      await writeFile(join(s.dir, "lib.circom"), "template A() {}\n");
      const k2 = await computeCacheKey({ ...base, includeDirs: [inc] });
      await writeFile(join(s.dir, "lib.circom"), "template B() {}\n");
      const k3 = await computeCacheKey({ ...base, includeDirs: [inc] });
      assert.equal(new Set([k0, k1, k2, k3]).size, 4);
      // build outputs and node_modules are not hashed: a build does not invalidate itself
      assert.equal(await computeCacheKey({ ...base, includeDirs: ["node_modules", "."] }), await computeCacheKey({ ...base, includeDirs: ["node_modules", "."] }));
    } finally {
      await s.cleanup();
    }
  });

  it("rebuilds into a new entry when the source changes", async () => {
    const changed = source.replace("PoseidonProduct(16)", "PoseidonProduct(17)");
    const b = await buildCircuit({ name: NAME, mainSource: changed, setup: "dev", log: () => {} });
    made.push(b.dir);
    assert.equal(b.cached, false);
    assert.notEqual(b.dir, first.dir);
    assert.equal(b.nConstraints, first.nConstraints + 1);
    assert.ok(existsSync(first.zkey), "the old entry stays");
  });

  it("leaves no cache entry when a build fails", async () => {
    const broken = source.replace("component main", "component mian");
    const key = await computeCacheKey({ name: NAME, mainSource: broken, setup: "dev" });
    await assert.rejects(buildCircuit({ name: NAME, mainSource: broken, setup: "dev", log: () => {} }), /circom2 failed/);
    const entries = (await readdir(BUILD_DIR)).filter((e) => e.includes(key.slice(0, 12)));
    assert.deepEqual(entries, []);
  });

  it("serialises concurrent builds of the same circuit", async () => {
    const src = source + "// concurrent\n";
    const [a, b] = await Promise.all([
      buildCircuit({ name: NAME, mainSource: src, setup: "dev", log: () => {} }),
      buildCircuit({ name: NAME, mainSource: src, setup: "dev", log: () => {} }),
    ]);
    made.push(a.dir);
    assert.equal(a.dir, b.dir);
    assert.deepEqual([a.cached, b.cached].sort(), [false, true]);
  });

  it("runs circom2 --inspect and ties each warning to its declaring line; the check fails on the unjustified ones, per file", async () => {
    const fixture = (await readFile(join(FIXTURES, "inspectWarnings.circom"), "utf8")) + `\n// salt ${randomBytes(8).toString("hex")}\n`;
    const lineOf = (text: string) => fixture.split("\n").findIndex((l) => l.includes(text)) + 1;
    const b = await buildCircuit({ name: "inspectTest", mainSource: fixture, setup: "dev", log: () => {} });
    made.push(b.dir);
    const seen = b.inspect.map((w) => ({ code: w.code, file: w.file, line: w.line, justified: w.justification ?? null, library: w.library }));
    const expected = [
      { code: "T3002", file: "<main>", line: lineOf("signal r <--"), justified: null, library: false },
      { code: "CA02", file: "<main>", line: lineOf("component bits"), justified: null, library: false },
      { code: "CA02", file: "<main>", line: lineOf("component rangeOnly"), justified: "justified on the line above", library: false },
      { code: "CA01", file: "<main>", line: lineOf("signal input kept"), justified: "justified on the declaring line", library: false },
      { code: "CA01", file: "<main>", line: lineOf("signal input unused"), justified: null, library: false },
    ];
    const order = (a: { line?: number }, c: { line?: number }) => (a.line ?? 0) - (c.line ?? 0);
    assert.deepEqual([...seen].sort(order), [...expected].sort(order));
    // the check names the file and each unjustified warning's line
    assert.deepEqual([...unjustifiedByFile(b.inspect).keys()], ["<main>"]);
    assert.throws(() => assertInspectClean("inspectTest", b.inspect), (e: Error) => {
      assert.match(e.message, /<main>: 3\n/);
      for (const text of ["signal r <--", "component bits", "signal input unused"]) assert.match(e.message, new RegExp(`<main>:${lineOf(text)} \\[`));
      return true;
    });
    // justified, the same circuit passes (the build is cached on its source: another entry)
    const justified = fixture
      .replace("signal input unused;", "signal input unused; // inspect: not used by the fixture")
      .replace("component bits = Num2Bits(8);", "component bits = Num2Bits(8); // inspect: a range check")
      .replace("signal r <-- a + 1;", "signal r <-- a + 1; // inspect: constrained on the next line");
    const c = await buildCircuit({ name: "inspectTest", mainSource: justified, setup: "dev", log: () => {} });
    made.push(c.dir);
    assert.equal(c.inspect.length, 5);
    assert.doesNotThrow(() => assertInspectClean("inspectTest", c.inspect));
    // the build entry keeps them
    assert.deepEqual(JSON.parse(await readFile(join(c.dir, "inspect.json"), "utf8")), c.inspect);
  });

  it("marks warnings inside circomlib's templates as library (not ours to justify) and keeps unlocated ones unjustified", async () => {
    const library = readSources(REPO_ROOT, await circomFilesUnder(join(REPO_ROOT, "node_modules", "circomlib", "circuits")));
    const output = [
      "\x1b[1mwarning[CA02]\x1b[0m: In template \"Sha256compression()\": Subcomponent input/output signal sume[7].out[32] does not appear in any constraint of the father component",
      "",
      "warning[CA01]: In template \"NowhereDefined(3)\": Local signal x does not appear in any constraint",
      "",
    ].join("\n");
    const ws = parseInspectOutput(output, library, (p) => p);
    assert.equal(ws.length, 2);
    assert.deepEqual([ws[0].library, ws[0].file, ws[0].signal], [true, "node_modules/circomlib/circuits/sha256/sha256compression.circom", "sume"]);
    assert.ok(ws[0].line! > 0);
    assert.deepEqual([ws[1].library, ws[1].file, ws[1].justification], [false, undefined, undefined]);
    assert.deepEqual([...unjustifiedByFile(ws).keys()], ["(unlocated)"]);
  });

  it("the exported Solidity verifier accepts the proof on the EVM", async () => {
    const solc = require("solc") as { compile(input: string): string };
    const out = JSON.parse(
      solc.compile(
        JSON.stringify({
          language: "Solidity",
          sources: { "V.sol": { content: await readFile(first.verifierSol, "utf8") } },
          settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: "cancun", outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } } },
        }),
      ),
    ) as { errors?: { severity: string; formattedMessage: string }[]; contracts: Record<string, Record<string, { abi: Abi; evm: { bytecode: { object: string } } }>> };
    const errors = (out.errors ?? []).filter((e) => e.severity === "error");
    assert.deepEqual(errors, []);
    const c = out.contracts["V.sol"]![first.contractName]!;
    const { viem } = await network.create();
    const publicClient = await viem.getPublicClient();
    const [wallet] = await viem.getWalletClients();
    const hash = await wallet!.deployContract({ abi: c.abi, bytecode: `0x${c.evm.bytecode.object}` as Hex });
    const address = (await publicClient.waitForTransactionReceipt({ hash })).contractAddress!;

    const { proof, publicSignals } = await snarkjs.groth16.fullProve(input, first.wasm, first.zkey);
    // snarkjs's JSON to the verifier's calldata (G2 coordinates swapped to (c1, c0))
    const { pi_a: a, pi_b: b, pi_c: cc } = proof;
    const pA = [BigInt(a[0]!), BigInt(a[1]!)];
    const pB = [
      [BigInt(b[0]![1]!), BigInt(b[0]![0]!)],
      [BigInt(b[1]![1]!), BigInt(b[1]![0]!)],
    ];
    const pC = [BigInt(cc[0]!), BigInt(cc[1]!)];
    const verify = (pub: string[]) => publicClient.readContract({ address, abi: c.abi, functionName: "verifyProof", args: [pA, pB, pC, pub.map(BigInt)] });
    assert.equal(await verify(publicSignals), true);
    assert.equal(await verify([publicSignals[0]!, "1"]), false);
  });
});
