// Cached circuit builds: circom (r1cs + witness wasm) -> Groth16 key (dev or ceremony) -> vkey + Solidity verifier.
//
// Cache key: sha256 over
//   - a format tag (bumped when the outputs of this script change),
//   - the main source text and the circuit name,
//   - every .circom file under circuits/ and under each extra include dir (path and content; dirs named
//     node_modules, build, artifacts, cache, coverage, types or starting with "." are skipped),
//   - the versions of circomlib, circom2 and snarkjs (node_modules/<pkg>/package.json),
//   - the setup: "dev", or the ceremony parameters with the ptau's resolved path, size and mtime
//     (its content is not hashed: a production ptau is gigabytes).
// Outputs go to build/circuits/<name>-<first 12 hex of the key>/ (build/ is git-ignored):
//   <name>.circom, <name>.r1cs, <name>_js/<name>.wasm (+ circom's witness helpers), <name>.zkey,
//   <name>.vkey.json, <name>Verifier.sol, inspect.json (the warnings of circom2 --inspect, see below),
//   build.json (metadata; written last).
// A build happens in build/circuits/.tmp-<name>-<hash12>-<pid>-<random>/ and is renamed into place,
// so an interrupted build never leaves a partial cache entry; an existing entry is returned without
// compiling anything (cached: true). Concurrent builds of the same entry (parallel test files) are
// serialised by a lock file build/circuits/.lock-<name>-<hash12> holding the builder's pid; a lock
// whose process is gone is taken over.
//
// Includes: the main file is compiled with -l node_modules -l circuits -l . plus includeDirs, so
// `include "circomlib/circuits/poseidon.circom"` and `include "<file under circuits/>"` both work.
// circom2 runs under WASI and sees only the directory it runs in, following a symbolic link only when
// its target lies inside that directory: it runs in the deepest directory holding the repository and
// the real path of every include dir (the repository itself, unless node_modules is a link to another
// checkout's, as in a git worktree). Include dirs must lie inside the repository.
//
// Inspection: circom2 always runs with --inspect. Its warnings are located (the line declaring the
// signal each names, scripts/build/circomInspect.ts), judged against the `inspect:` convention
// (circuits/SPEC.md, "Build checks") and kept in inspect.json and CircuitBuild.inspect; a build does not
// fail on them: assertInspectClean() is the check (test/circuits/inspect.test.ts runs it on the batch
// circuit, the build the tests make anyway).
//
// Solidity verifier: snarkjs's template always names the contract `Groth16Verifier`. There is one
// verifier per circuit size and Hardhat cannot resolve a bare contract name that several files
// define, so the contract is always renamed `Groth16Verifier_<name>` (name with characters outside
// [A-Za-z0-9_] replaced by `_`); nothing else in the template output changes.
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, realpathSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { circomFilesUnder, parseInspectOutput, pathLabel, readSources, type InspectWarning } from "./circomInspect.ts";
import { devSetup } from "../setup/devSetup.ts";
import { runCeremony } from "../setup/ceremony.ts";
import { readR1cs } from "../setup/r1cs.ts";
import { loadSnarkjs, withTransientSnarkjsCurve } from "../setup/zkLibs.ts";

const execFileP = promisify(execFile);

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const FORMAT_TAG = "circuitBuild/v2";

export interface CeremonySetup {
  /** Prepared powers-of-tau file. */
  ptau: string;
  contributions: number;
  /** Beacon randomness, hex. */
  beacon: string;
  /** snarkjs numIterationsExp for the beacon (10..63); default 10. */
  beaconIterationsExp?: number;
}

export interface BuildCircuitOptions {
  /** [A-Za-z0-9_-]+; names the output files and the verifier contract. */
  name: string;
  /** Full text of the main .circom file (with its `component main`). */
  mainSource: string;
  /** Extra circom include directories (-l), relative to the repository root or absolute inside it. */
  includeDirs?: string[];
  setup: "dev" | CeremonySetup;
  log?: (msg: string) => void;
}

export interface CircuitBuild {
  dir: string;
  r1cs: string;
  wasm: string;
  zkey: string;
  /** Verification key JSON. */
  vkey: string;
  verifierSol: string;
  /** Solidity contract name in verifierSol. */
  contractName: string;
  nConstraints: number;
  /** True when the key is a development key (INSECURE). */
  insecure: boolean;
  cacheKey: string;
  cached: boolean;
  /** The warnings of circom2 --inspect, located and judged (see assertInspectClean). */
  inspect: InspectWarning[];
}

interface BuildMeta {
  format: string;
  name: string;
  cacheKey: string;
  nConstraints: number;
  nVars: number;
  nPublic: number;
  contractName: string;
  setup: "dev" | "ceremony";
  insecure: boolean;
  builtAt: string;
  seconds: { compile: number; setup: number; total: number };
}

/** Directories never hashed: dependencies (covered by package versions), build outputs, VCS/tool state. */
const SKIP_DIRS = new Set(["node_modules", "build", "artifacts", "cache", "coverage", "types"]);

function listCircomFiles(dir: string): Promise<string[]> {
  return circomFilesUnder(dir, (name) => SKIP_DIRS.has(name));
}

async function packageVersion(pkg: string): Promise<string> {
  const json = JSON.parse(await readFile(join(REPO_ROOT, "node_modules", pkg, "package.json"), "utf8")) as { version: string };
  return json.version;
}

/** Include dir as a path relative to the repository root (circom2 only sees the repository). */
function repoRelative(dir: string): string {
  const abs = isAbsolute(dir) ? dir : resolve(REPO_ROOT, dir);
  const rel = relative(REPO_ROOT, abs);
  if (rel.startsWith("..") || isAbsolute(rel)) throw new Error(`buildCircuit: include dir ${dir} is outside the repository`);
  return rel === "" ? "." : rel;
}

export function contractNameFor(name: string): string {
  return `Groth16Verifier_${name.replace(/[^A-Za-z0-9_]/g, "_")}`;
}

export async function computeCacheKey(opts: BuildCircuitOptions): Promise<string> {
  const h = createHash("sha256");
  const field = (label: string, value: string | Uint8Array): void => {
    const v = typeof value === "string" ? Buffer.from(value, "utf8") : value;
    h.update(`${label}:${v.byteLength}:`);
    h.update(v);
  };
  field("format", FORMAT_TAG);
  field("name", opts.name);
  field("main", opts.mainSource);
  // include dirs inside node_modules are covered by the package versions below
  const dirs = ["circuits", ...(opts.includeDirs ?? []).map(repoRelative)].filter(
    (d) => d !== "node_modules" && !d.startsWith("node_modules/") && !d.startsWith(`node_modules${sep}`),
  );
  const seen = new Set<string>();
  for (const d of dirs) {
    for (const f of await listCircomFiles(resolve(REPO_ROOT, d))) {
      if (seen.has(f)) continue;
      seen.add(f);
      field("file", relative(REPO_ROOT, f).split(sep).join("/"));
      field("content", await readFile(f));
    }
  }
  field("includeDirs", JSON.stringify(opts.includeDirs ?? []));
  for (const pkg of ["circomlib", "circom2", "snarkjs"]) field(pkg, await packageVersion(pkg));
  if (opts.setup === "dev") {
    field("setup", "dev");
  } else {
    const ptau = resolve(opts.setup.ptau);
    const st = await stat(ptau);
    field(
      "setup",
      JSON.stringify({
        kind: "ceremony",
        ptau,
        ptauSize: st.size,
        ptauMtimeMs: st.mtimeMs,
        contributions: opts.setup.contributions,
        beacon: opts.setup.beacon,
        beaconIterationsExp: opts.setup.beaconIterationsExp ?? 10,
      }),
    );
  }
  return h.digest("hex");
}

function outputs(dir: string, name: string) {
  return {
    circom: join(dir, `${name}.circom`),
    r1cs: join(dir, `${name}.r1cs`),
    wasm: join(dir, `${name}_js`, `${name}.wasm`),
    zkey: join(dir, `${name}.zkey`),
    vkey: join(dir, `${name}.vkey.json`),
    verifierSol: join(dir, `${name}Verifier.sol`),
    inspect: join(dir, "inspect.json"),
    meta: join(dir, "build.json"),
  };
}

async function removeStaleTemps(parent: string, prefix: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(parent);
  } catch {
    return;
  }
  const hour = 3600_000;
  for (const e of entries) {
    if (!e.startsWith(prefix)) continue;
    const p = join(parent, e);
    try {
      if (Date.now() - (await stat(p)).mtimeMs > hour) await rm(p, { recursive: true, force: true });
    } catch {
      // raced with another cleaner
    }
  }
}

export async function buildCircuit(opts: BuildCircuitOptions): Promise<CircuitBuild> {
  const t0 = performance.now();
  const log = opts.log ?? ((m: string) => console.error(m));
  const { name } = opts;
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new Error(`buildCircuit: invalid name "${name}" (use [A-Za-z0-9_-])`);
  const cacheKey = await computeCacheKey(opts);
  const parent = join(REPO_ROOT, "build", "circuits");
  const dir = join(parent, `${name}-${cacheKey.slice(0, 12)}`);
  const contractName = contractNameFor(name);

  const result = async (cached: boolean): Promise<CircuitBuild> => {
    const o = outputs(dir, name);
    const meta = JSON.parse(await readFile(o.meta, "utf8")) as BuildMeta;
    return {
      dir,
      r1cs: o.r1cs,
      wasm: o.wasm,
      zkey: o.zkey,
      vkey: o.vkey,
      verifierSol: o.verifierSol,
      contractName: meta.contractName,
      nConstraints: meta.nConstraints,
      insecure: meta.insecure,
      cacheKey,
      cached,
      inspect: JSON.parse(await readFile(o.inspect, "utf8")) as InspectWarning[],
    };
  };

  const done = (): boolean => existsSync(outputs(dir, name).meta);
  if (done()) return result(true);

  await mkdir(parent, { recursive: true });
  const lock = join(parent, `.lock-${name}-${cacheKey.slice(0, 12)}`);
  if (!(await acquireLock(lock, done, () => log(`[buildCircuit] ${name}: waiting for another build of the same circuit`)))) {
    return result(true);
  }
  try {
    if (done()) return result(true);
    return await buildLocked();
  } finally {
    await rm(lock, { force: true });
  }

  async function buildLocked(): Promise<CircuitBuild> {
    await removeStaleTemps(parent, `.tmp-${name}-${cacheKey.slice(0, 12)}-`);
    const tmp = join(parent, `.tmp-${name}-${cacheKey.slice(0, 12)}-${process.pid}-${randomBytes(4).toString("hex")}`);
    await mkdir(tmp);
    try {
      const o = outputs(tmp, name);
      await writeFile(o.circom, opts.mainSource);

      // ---- compile ------------------------------------------------------------------------------
      const tc = performance.now();
      const libs = ["node_modules", "circuits", ".", ...(opts.includeDirs ?? []).map(repoRelative)];
      const cwd = circomDir(libs);
      const at = (p: string) => relative(cwd, resolve(REPO_ROOT, p)) || ".";
      const args = [at(o.circom), "--r1cs", "--wasm", "--O2", "--inspect", "-o", at(tmp)];
      for (const l of libs) args.push("-l", at(l));
      log(`[buildCircuit] ${name}: (in ${cwd}) circom2 ${args.join(" ")}`);
      let output: string;
      try {
        const { stdout, stderr } = await execFileP(join(REPO_ROOT, "node_modules", ".bin", "circom2"), args, { cwd, maxBuffer: 256 << 20 });
        output = `${stdout}\n${stderr}`;
      } catch (e) {
        const err = e as { stdout?: string; stderr?: string; message: string };
        throw new Error(`buildCircuit: circom2 failed for ${name}:\n${err.stderr ?? ""}${err.stdout ?? ""}`.trimEnd());
      }
      const inspect = await inspectWarnings(output, cwd, o.circom, opts);
      await writeFile(o.inspect, JSON.stringify(inspect, null, 1) + "\n");
      const unjustified = inspect.filter((w) => !w.library && !w.justification).length;
      log(`[buildCircuit] ${name}: circom2 --inspect: ${inspect.length} warnings, ${unjustified} of ours not justified (${o.inspect})`);
      if (!existsSync(o.r1cs) || !existsSync(o.wasm)) throw new Error(`buildCircuit: circom2 did not produce ${o.r1cs} and ${o.wasm}`);
      const compileSeconds = (performance.now() - tc) / 1000;
      const r1cs = await readR1cs(o.r1cs);
      log(`[buildCircuit] ${name}: ${r1cs.nConstraints} constraints, ${r1cs.nVars} wires (${compileSeconds.toFixed(1)} s)`);

      // ---- setup and Solidity verifier (snarkjs's curve: ended afterwards unless it ran before) ----------
      const ts = performance.now();
      const setup = opts.setup;
      const { sol, setupSeconds } = await withTransientSnarkjsCurve(async () => {
        const snarkjs = await loadSnarkjs();
        if (setup === "dev") {
          await devSetup({ r1csPath: o.r1cs, zkeyPath: o.zkey, log });
          const vkey = await snarkjs.zKey.exportVerificationKey(o.zkey);
          await writeFile(o.vkey, JSON.stringify(vkey, null, 1));
        } else {
          await runCeremony({
            ptau: setup.ptau,
            r1cs: o.r1cs,
            zkeyPath: o.zkey,
            vkeyPath: o.vkey,
            contributions: setup.contributions,
            beaconHex: setup.beacon,
            beaconIterationsExp: setup.beaconIterationsExp,
            log,
          });
        }
        const setupSeconds = (performance.now() - ts) / 1000;
        const template = await readFile(join(REPO_ROOT, "node_modules", "snarkjs", "templates", "verifier_groth16.sol.ejs"), "utf8");
        return { sol: await snarkjs.zKey.exportSolidityVerifier(o.zkey, { groth16: template }), setupSeconds };
      });
      const renamed = sol.replace(/\bcontract Groth16Verifier\b/g, `contract ${contractName}`);
      if (renamed.split(`contract ${contractName}`).length !== 2) throw new Error("buildCircuit: unexpected verifier template (contract name)");
      const header =
        opts.setup === "dev"
          ? `// INSECURE DEVELOPMENT VERIFIER for circuit "${name}" (key from scripts/setup/devSetup.ts). Never deploy to production.\n`
          : `// Verifier for circuit "${name}" (phase-2 ceremony key, scripts/setup/ceremony.ts).\n`;
      await writeFile(o.verifierSol, header + renamed);

      const meta: BuildMeta = {
        format: FORMAT_TAG,
        name,
        cacheKey,
        nConstraints: r1cs.nConstraints,
        nVars: r1cs.nVars,
        nPublic: r1cs.nOutputs + r1cs.nPubInputs,
        contractName,
        setup: opts.setup === "dev" ? "dev" : "ceremony",
        insecure: opts.setup === "dev",
        builtAt: new Date().toISOString(),
        seconds: { compile: compileSeconds, setup: setupSeconds, total: (performance.now() - t0) / 1000 },
      };
      await writeFile(o.meta, JSON.stringify(meta, null, 2) + "\n");

      try {
        await rename(tmp, dir);
      } catch (e) {
        // Another process finished the same build first: keep its entry.
        if (!existsSync(outputs(dir, name).meta)) throw e;
        await rm(tmp, { recursive: true, force: true });
      }
      log(`[buildCircuit] ${name}: built ${dir} in ${meta.seconds.total.toFixed(1)} s`);
      return result(false);
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      throw e;
    }
  }
}

/**
 * The deepest directory holding the repository and the real path of every include dir `libs` (repository-relative, or
 * absolute): where circom2 must run to see them all.
 */
export function circomDir(libs: string[]): string {
  let dir = REPO_ROOT;
  for (const l of libs) {
    const real = realpathSync(resolve(REPO_ROOT, l));
    while (relative(dir, real).startsWith("..") || isAbsolute(relative(dir, real))) dir = dirname(dir);
  }
  return dir;
}

/** circom2's --inspect warnings, located in the main source, our circuits (circuits/ and include dirs) and circomlib. */
async function inspectWarnings(output: string, cwd: string, mainPath: string, opts: BuildCircuitOptions): Promise<InspectWarning[]> {
  const ours = new Set<string>();
  for (const d of ["circuits", ...(opts.includeDirs ?? []).map(repoRelative)]) {
    if (d === "node_modules" || d.startsWith(`node_modules${sep}`) || d.startsWith("node_modules/")) continue;
    for (const f of await listCircomFiles(resolve(REPO_ROOT, d))) ours.add(f);
  }
  const circuits = resolve(REPO_ROOT, "circuits") + sep;
  const library = await circomFilesUnder(join(REPO_ROOT, "node_modules", "circomlib", "circuits"));
  // later sources win a template-name clash: libraries, other include dirs, circuits/, the main source
  const sources = [
    ...readSources(REPO_ROOT, library),
    ...readSources(REPO_ROOT, [...ours].filter((f) => !f.startsWith(circuits))),
    ...readSources(REPO_ROOT, [...ours].filter((f) => f.startsWith(circuits))),
    { label: "<main>", lines: opts.mainSource.split("\n"), library: false },
  ];
  return parseInspectOutput(output, sources, (printed) => pathLabel(REPO_ROOT, cwd, printed, { path: mainPath, label: "<main>" }));
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** true: lock taken; false: `done()` became true while waiting for another builder. */
async function acquireLock(lock: string, done: () => boolean, onWait: () => void): Promise<boolean> {
  let waited = false;
  for (;;) {
    try {
      await writeFile(lock, String(process.pid), { flag: "wx" });
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    if (done()) return false;
    let stale = false;
    try {
      const text = await readFile(lock, "utf8");
      const pid = Number(text);
      if (Number.isInteger(pid) && pid > 0) stale = !processAlive(pid);
      else stale = Date.now() - (await stat(lock)).mtimeMs > 60_000; // pid never written
    } catch {
      continue; // lock vanished: retry at once
    }
    if (stale) {
      await rm(lock, { force: true });
      continue;
    }
    if (!waited) onWait();
    waited = true;
    await new Promise((r) => setTimeout(r, 500));
  }
}
