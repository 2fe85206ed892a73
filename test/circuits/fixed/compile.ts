/** Compiles small test mains of circuits/lib/fixed with circom2 (cached by source hash under build/fixed-circuits/). */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import * as snarkjs from "snarkjs";
import { FIELD_MODULUS } from "../../../sequencer/protocol/constants.ts";

const execFileP = promisify(execFile);
const ROOT = new URL("../../../", import.meta.url).pathname;
const LIB = join(ROOT, "circuits/lib/fixed");

export interface Compiled {
  wasm: string;
  /** The constraint system (circom's .r1cs). */
  r1cs: string;
  /** The signal names of each wire (circom's .sym), when compiled with `sym`. */
  sym?: string;
  /** circom2's output with --inspect (its warnings), when compiled with `inspect`. */
  inspect?: string;
  constraints: number;
}

/**
 * Compiles `main` (the text after the includes, e.g. "component main = Exp();") with circuits/lib/fixed, or with
 * the library file `include`; every file of circuits/lib and circuits/lib/fixed is part of the cache key.
 */
export async function compileMain(name: string, main: string, include = "circuits/lib/fixed/blackScholes.circom", opts: { sym?: boolean; inspect?: boolean } = {}): Promise<Compiled> {
  const src = `pragma circom 2.1.0;\ninclude "${include}";\n${main}\n`;
  const h = createHash("sha256").update(src);
  if (opts.sym) h.update("--sym");
  if (opts.inspect) h.update("--inspect");
  for (const dir of [join(ROOT, "circuits/lib"), LIB]) {
    for (const f of readdirSync(dir).sort()) if (f.endsWith(".circom")) h.update(f).update(readFileSync(join(dir, f)));
  }
  const rel = `build/fixed-circuits/${name}-${h.digest("hex").slice(0, 12)}`;
  const dir = join(ROOT, rel);
  const meta = join(dir, "meta.json");
  if (!existsSync(meta)) {
    const tmp = `${rel}.tmp-${process.pid}`;
    await rm(join(ROOT, tmp), { recursive: true, force: true });
    await mkdir(join(ROOT, tmp), { recursive: true });
    await writeFile(join(ROOT, tmp, `${name}.circom`), src);
    const { stdout, stderr } = await execFileP(
      join(ROOT, "node_modules/.bin/circom2"),
      [`${tmp}/${name}.circom`, "--r1cs", "--wasm", ...(opts.sym ? ["--sym"] : []), ...(opts.inspect ? ["--inspect"] : []), "--O2", "-l", "node_modules", "-l", ".", "-o", tmp],
      { cwd: ROOT, maxBuffer: 1 << 24 },
    );
    if (opts.inspect) await writeFile(join(ROOT, tmp, "inspect.txt"), stdout + stderr);
    const nl = Number(/non-linear constraints: (\d+)/.exec(stdout)?.[1]);
    const lin = Number(/(?<!non-)linear constraints: (\d+)/.exec(stdout)?.[1] ?? 0);
    await writeFile(join(ROOT, tmp, "meta.json"), JSON.stringify({ constraints: nl + lin }));
    await rm(dir, { recursive: true, force: true });
    await rename(join(ROOT, tmp), dir);
  }
  const { constraints } = JSON.parse(await readFile(meta, "utf8")) as { constraints: number };
  return {
    wasm: join(dir, `${name}_js/${name}.wasm`), r1cs: join(dir, `${name}.r1cs`), ...(opts.sym ? { sym: join(dir, `${name}.sym`) } : {}),
    ...(opts.inspect ? { inspect: await readFile(join(dir, "inspect.txt"), "utf8") } : {}), constraints,
  };
}

/** A signed integer as the field element the circuit reads. */
export function fe(v: bigint): bigint {
  return ((v % FIELD_MODULUS) + FIELD_MODULUS) % FIELD_MODULUS;
}

/** Witness outputs (main's outputs are witness[1..]), or throws when a constraint fails. */
export async function outputs(wasm: string, input: Record<string, bigint | number | bigint[]>, n = 1): Promise<bigint[]> {
  const w: { type: "mem"; data?: Uint8Array } = { type: "mem" };
  await snarkjs.wtns.calculate(input, wasm, w);
  // exportJson is missing from the repository's snarkjs typings
  const wtns = snarkjs.wtns as unknown as { exportJson(w: unknown): Promise<bigint[]> };
  const json = await wtns.exportJson(w);
  return json.slice(1, 1 + n).map((x) => (x > FIELD_MODULUS / 2n ? x - FIELD_MODULUS : x));
}

/** The whole witness (wire 0 is the constant 1; outputs follow, then inputs), or throws when a constraint fails. */
export async function witness(wasm: string, input: Record<string, bigint | number | bigint[] | bigint[][]>): Promise<bigint[]> {
  const w: { type: "mem"; data?: Uint8Array } = { type: "mem" };
  await snarkjs.wtns.calculate(input, wasm, w);
  return (snarkjs.wtns as unknown as { exportJson(w: unknown): Promise<bigint[]> }).exportJson(w);
}

/** True when witness calculation succeeds (every constraint holds). */
export async function accepts(wasm: string, input: Record<string, bigint | number | bigint[]>): Promise<boolean> {
  try {
    await snarkjs.wtns.calculate(input, wasm, { type: "mem" });
    return true;
  } catch {
    return false;
  }
}
