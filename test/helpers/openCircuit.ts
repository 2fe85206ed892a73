/**
 * "Open" variants of the real circuits, for the dishonest hunts (circuits/HUNT.md): a circuit of circuits/,
 * changed in a build directory by checked text substitutions (typically: the packing of the public data into
 * the public inputs taken out and the bits made outputs, so one witness calculation answers "would a
 * dishonest prover get a proof for this input, and for which public data?"), compiled and cached like the
 * real build, with a witness calculator that is instantiated once per wasm and reused.
 *
 * Each substitution must match the expected number of times, so a change to the circuit that breaks
 * one fails loudly instead of testing something else. The variant is compiled with circom2 (wasm only)
 * into build/circuits/<name>-<hash>/, cached by a hash of the main component, the substitutions and every
 * .circom file under circuits/ (computeCacheKey, as the real build does). The witness calculator is
 * instantiated once per wasm and reused (several times faster than snarkjs's wtns.calculate, which
 * compiles the wasm on every call).
 *
 * Users: test/helpers/openBatch.ts (the batch circuit) and test/helpers/openExit.ts (the exit circuit).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { cp, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { circomDir, computeCacheKey, REPO_ROOT } from "../../scripts/build/circuitBuild.ts";
import { failureChain } from "./circuitRules.ts";

const execFileP = promisify(execFile);

/** One checked substitution: in `file` (relative to the repository), `pattern` must match exactly `expected` times. */
export type Patch = readonly [file: string, pattern: RegExp, replacement: string, expected: number];

/** The text of a circuit file of this checkout. */
export const readCircuitFile = (file: string): string => readFileSync(join(REPO_ROOT, file), "utf8");

/**
 * The patched text of every circuit file `patches` touch, from the sources in `read`; throws (naming `label`)
 * when a pattern does not match its expected number of times.
 */
export function patchSources(label: string, patches: readonly Patch[], read: (file: string) => string = readCircuitFile): Map<string, string> {
  const out = new Map<string, string>();
  for (const [file, pattern, replacement, expected] of patches) {
    const text = out.get(file) ?? read(file);
    const found = text.match(pattern)?.length ?? 0;
    if (found !== expected) throw new Error(`${label}: ${pattern} matches ${found} times in ${file}, expected ${expected}`);
    out.set(file, text.replace(pattern, replacement));
  }
  return out;
}

/**
 * Compiles (or finds in the cache) the circuit `mainSource` (named `name`) over the circuit sources with `patched`
 * files replaced; returns its witness wasm. `label` names it in the log and in errors.
 */
export async function buildOpenCircuit(
  o: { label: string; name: string; mainSource: string; patched: Map<string, string> },
  log: (m: string) => void = (m) => console.error(m),
): Promise<string> {
  const { label, name, mainSource: main, patched } = o;
  const key = await computeCacheKey({ name, mainSource: [main, ...[...patched].map(([f, t]) => `//--- ${f}\n${t}`)].join("\n"), setup: "dev" });
  const parent = join(REPO_ROOT, "build", "circuits");
  const dir = join(parent, `${name}-${key.slice(0, 12)}`);
  const wasm = join(dir, `${name}_js`, `${name}.wasm`);
  if (existsSync(wasm)) return wasm;
  const tmp = join(parent, `.tmp-${name}-${key.slice(0, 12)}-${process.pid}-${randomBytes(4).toString("hex")}`);
  await mkdir(tmp, { recursive: true });
  try {
    // The circuit sources, patched, and circomlib's circuits next to them: circom2 runs under WASI and
    // sees only the repository, not a node_modules that links outside it.
    await cp(join(REPO_ROOT, "circuits"), join(tmp, "circuits"), { recursive: true });
    for (const [file, text] of patched) await writeFile(join(tmp, file), text);
    await cp(join(REPO_ROOT, "node_modules", "circomlib", "circuits"), join(tmp, "lib", "circomlib", "circuits"), { recursive: true, dereference: true });
    await writeFile(join(tmp, `${name}.circom`), main);
    // circom2 (WASI) sees only the directory it runs in, and follows no link out of it: it runs where the build
    // directory really is (build/ may be a link to another checkout's, as in a git worktree)
    const cwd = circomDir([tmp]);
    const at = (path: string) => relative(cwd, realpathSync(path));
    const args = [at(join(tmp, `${name}.circom`)), "--wasm", "--O2", "-o", at(tmp)];
    for (const l of [join(tmp, "lib"), tmp]) args.push("-l", at(l));
    const t0 = performance.now();
    log(`[${label}] (in ${cwd}) circom2 ${args.join(" ")}`);
    try {
      await execFileP(join(REPO_ROOT, "node_modules", ".bin", "circom2"), args, { cwd, maxBuffer: 64 << 20 });
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string };
      throw new Error(`${label}: circom2 failed:\n${err.stderr ?? ""}${err.stdout ?? ""}`.trimEnd());
    }
    log(`[${label}] compiled in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    try {
      await rename(tmp, dir);
    } catch (e) {
      if (!existsSync(wasm)) throw e; // another process finished the same build first: keep its entry
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return wasm;
}

type WitnessCalculator = {
  instance: { exports: { getWitness(i: number): void; readSharedRWMemory(j: number): number } };
  n32: number;
  _doCalculateWitness(input: unknown, sanityCheck: boolean): Promise<void>;
};
const calculators = new Map<string, Promise<WitnessCalculator>>();

/** circom's witness calculator for `wasm`, instantiated once per process. */
function calculator(wasm: string): Promise<WitnessCalculator> {
  let c = calculators.get(wasm);
  if (!c) {
    c = (async () => {
      // circom's witness_calculator.js is CommonJS in a "type": "module" package: evaluate it as such.
      // Its error text accumulates over calls (errStr is never reset): reset it after each throw, so
      // each failure names its own constraints.
      const original = await readFile(join(wasm, "..", "witness_calculator.js"), "utf8");
      const source = original.replace("throw new Error(err + errStr);", '{ const message = err + errStr; errStr = ""; throw new Error(message); }');
      assert.notEqual(source, original, "circom's witness_calculator.js no longer throws `err + errStr`");
      const module = { exports: {} as unknown };
      new Function("module", "exports", source)(module, module.exports);
      const builder = module.exports as (code: Buffer) => Promise<WitnessCalculator>;
      return builder(await readFile(wasm));
    })();
    calculators.set(wasm, c);
  }
  return c;
}

function readSignal(wc: WitnessCalculator, index: number): bigint {
  wc.instance.exports.getWitness(index);
  let v = 0n;
  for (let j = wc.n32 - 1; j >= 0; j--) v = (v << 32n) | BigInt(wc.instance.exports.readSharedRWMemory(j) >>> 0);
  return v;
}

/**
 * Calculates the witness of `input` with the (cached) calculator of `wasm`: null when every
 * constraint holds, else the failing chain "Template:line", innermost first (inputFailure's answer,
 * several times faster). Works on the real circuits and on the open ones.
 */
export async function fastFailure(wasm: string, input: Record<string, unknown>): Promise<string[] | null> {
  const wc = await calculator(wasm);
  try {
    await wc._doCalculateWitness(input, false);
    return null;
  } catch (e) {
    return failureChain(e);
  }
}

/**
 * The outputs of the witness `fastFailure` last calculated successfully with `wasm`'s calculator, in order:
 * each call of the returned function reads the next one (circom numbers the main component's outputs first,
 * from signal 1).
 */
export async function outputReader(wasm: string): Promise<() => bigint> {
  const wc = await calculator(wasm);
  let at = 1;
  return () => readSignal(wc, at++);
}

/** The public data of `bits` (most significant bit of byte 0 first), each checked to be 0 or 1. */
export function bitsToBytes(bits: readonly bigint[]): Uint8Array {
  assert.equal(bits.length % 8, 0, "the public data is whole bytes");
  const data = new Uint8Array(bits.length / 8);
  bits.forEach((bit, i) => {
    assert.ok(bit === 0n || bit === 1n, `public-data output ${i} is not a bit`);
    if (bit === 1n) data[i >> 3] |= 0x80 >> (i & 7);
  });
  return data;
}
