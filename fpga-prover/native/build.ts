/**
 * Builds the native BN254 Groth16 addon (fpga-prover/native/build/bn254_prover.node) with g++ directly
 * against Node-API headers and node-addon-api (no node-gyp, so no header download is needed). Run by
 * scripts/build/native.ts (npm run build:native; npm install runs it with --optional).
 *
 * Code generation: -O3 on an x86-64-v2 baseline, plus -mbmi2 -madx -mavx2 only when this machine's CPU
 * has them (read from /proc/cpuinfo), and -mavx512f -mavx512ifma when it has both (8-lane field arithmetic
 * for Poseidon and the EdDSA subgroup test, src/field_ifma.hpp), so the binary runs on the machine that
 * built it and the build works on a plain x86-64 too. NATIVE_PORTABLE=1 forces the plain x86-64-v2
 * baseline (no BMI2/ADX/AVX-512), e.g. for a binary copied to other machines.
 *
 * Generated sources: build/generated/poseidon_constants.hpp, written from the installed circomlibjs
 * package's Poseidon constants (poseidonConstants.ts) before compiling.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { writePoseidonConstantsHeader } from "./poseidonConstants.ts";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

export const ADDON_PATH = join(here, "build", "bn254_prover.node");

function cpuFlags(): Set<string> {
  try {
    const line = readFileSync("/proc/cpuinfo", "utf8").split("\n").find((l) => l.startsWith("flags"));
    return new Set((line ?? "").split(":")[1]?.trim().split(/\s+/) ?? []);
  } catch {
    return new Set();
  }
}

function nodeIncludeDir(): string {
  const candidates = [
    process.env.NODE_INCLUDE_DIR,
    join(dirname(process.execPath), "..", "include", "node"),
    "/usr/include/node",
    "/usr/local/include/node",
  ].filter((d): d is string => !!d);
  const found = candidates.find((d) => existsSync(join(d, "node_api.h")));
  if (!found) throw new Error(`node_api.h not found (looked in ${candidates.join(", ")}); set NODE_INCLUDE_DIR`);
  return found;
}

export function compileFlags(flags = cpuFlags(), portable = process.env.NATIVE_PORTABLE === "1"): string[] {
  const out = ["-O3"];
  if (process.arch !== "x64") return out;
  out.push(flags.has("sse4_2") && flags.has("popcnt") ? "-march=x86-64-v2" : "-march=x86-64");
  if (portable) return out;
  for (const f of ["bmi2", "adx", "avx2"]) if (flags.has(f)) out.push(`-m${f}`);
  if (flags.has("avx512f") && flags.has("avx512ifma")) out.push("-mavx512f", "-mavx512ifma");
  return out;
}

export function buildNative(log: (s: string) => void = console.log): string {
  const addonApi = dirname(require.resolve("node-addon-api/package.json"));
  const src = join(here, "src", "addon.cpp");
  mkdirSync(dirname(ADDON_PATH), { recursive: true });
  const generated = dirname(writePoseidonConstantsHeader(join(dirname(ADDON_PATH), "generated")));
  const tmp = `${ADDON_PATH}.${process.pid}.tmp`;
  const args = [
    "-std=c++17", ...compileFlags(), "-fPIC", "-shared", "-pthread", "-fvisibility=hidden",
    "-DNAPI_VERSION=8", "-DNAPI_CPP_EXCEPTIONS", "-DNODE_ADDON_API_DISABLE_DEPRECATED",
    `-I${nodeIncludeDir()}`, `-I${addonApi}`, `-I${generated}`, src, "-o", tmp,
  ];
  const cxx = process.env.CXX ?? "g++";
  log(`${cxx} ${args.join(" ")}`);
  execFileSync(cxx, args, { stdio: "inherit" });
  renameSync(tmp, ADDON_PATH);
  log(`built ${ADDON_PATH}`);
  return ADDON_PATH;
}
