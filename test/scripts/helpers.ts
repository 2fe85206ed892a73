// Shared helpers for the tests of scripts/setup and scripts/build.
import { execFile } from "node:child_process";
import { mkdir, readFile, rm } from "node:fs/promises";
import { basename, join, relative } from "node:path";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { REPO_ROOT } from "../../scripts/build/circuitBuild.ts";
import { readBinSections } from "../../scripts/setup/r1cs.ts";

const execFileP = promisify(execFile);

export const FIXTURES = join(REPO_ROOT, "test", "fixtures", "circuits");

/** A fresh scratch directory under build/ (circom2 only sees files inside the repository). */
export async function scratchDir(label: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = join(REPO_ROOT, "build", "test-scripts", `${label}-${process.pid}-${randomBytes(3).toString("hex")}`);
  await mkdir(dir, { recursive: true });
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Compiles a fixture circuit with circom2 into `outDir`; returns the r1cs and witness wasm paths. */
export async function compileFixture(file: string, outDir: string): Promise<{ r1cs: string; wasm: string }> {
  const name = basename(file, ".circom");
  await execFileP(
    join(REPO_ROOT, "node_modules", ".bin", "circom2"),
    [relative(REPO_ROOT, join(FIXTURES, file)), "--r1cs", "--wasm", "--O2", "-l", "node_modules", "-o", relative(REPO_ROOT, outDir)],
    { cwd: REPO_ROOT },
  );
  return { r1cs: join(outDir, `${name}.r1cs`), wasm: join(outDir, `${name}_js`, `${name}.wasm`) };
}

export interface ZkeySections {
  /** Section types in file order. */
  order: number[];
  get(type: number): Uint8Array;
}

export async function readZkeySections(path: string): Promise<ZkeySections> {
  const buf = new Uint8Array(await readFile(path));
  const sections = readBinSections(buf, "zkey");
  return {
    order: sections.map((s) => s.type),
    get(type: number) {
      const s = sections.find((x) => x.type === type);
      if (!s) throw new Error(`no section ${type}`);
      return buf.subarray(s.offset, s.offset + s.size);
    },
  };
}

const Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;
const RINV = (() => {
  // R = 2^256 mod q; R^-1 by Fermat
  const r = (1n << 256n) % Q;
  let result = 1n;
  let base = r;
  let e = Q - 2n;
  while (e > 0n) {
    if (e & 1n) result = (result * base) % Q;
    base = (base * base) % Q;
    e >>= 1n;
  }
  return result;
})();

function le(b: Uint8Array, off: number): bigint {
  let v = 0n;
  for (let i = 31; i >= 0; i--) v = (v << 8n) | BigInt(b[off + i]!);
  return v;
}

/** Fq element in Montgomery LE form -> decimal string (as snarkjs's JSON writes it). */
export function fqFromMontgomery(b: Uint8Array, off: number): string {
  return ((le(b, off) * RINV) % Q).toString();
}

/** G1 affine LEM point -> snarkjs JSON [x, y, "1"] ("0","1","0" for zero). */
export function g1Json(b: Uint8Array, off = 0): string[] {
  const x = fqFromMontgomery(b, off);
  const y = fqFromMontgomery(b, off + 32);
  return x === "0" && y === "0" ? ["0", "1", "0"] : [x, y, "1"];
}

/** G2 affine LEM point -> snarkjs JSON [[x0, x1], [y0, y1], ["1", "0"]]. */
export function g2Json(b: Uint8Array, off = 0): string[][] {
  return [
    [fqFromMontgomery(b, off), fqFromMontgomery(b, off + 32)],
    [fqFromMontgomery(b, off + 64), fqFromMontgomery(b, off + 96)],
    ["1", "0"],
  ];
}
