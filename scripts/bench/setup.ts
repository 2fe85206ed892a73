// Benchmark of the development Groth16 setup (scripts/setup/devSetup.ts) on synthetic circuits.
//
//   npx tsx scripts/bench/setup.ts            # domains 2^16, 2^17 (~130k constraints), 2^18
//   npx tsx scripts/bench/setup.ts 16 18      # chosen log2 domain sizes
//   npx tsx scripts/bench/setup.ts 18 build/circuits/<dir>/<name>.r1cs   # and/or existing r1cs files
//
// Each circuit is a chain of 2^k - 64 multiplications x[i] = x[i-1] * x[i-2] (one public input),
// so its Groth16 domain is exactly 2^k and every wire appears in A, B and C. Circuits are compiled
// once with circom2 (r1cs only) into build/bench/setup/ and reused while their source is unchanged.
// CPU seconds (user + system, all threads of this process) are reported next to wall-clock
// seconds because the machine may be shared.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { devSetup } from "../setup/devSetup.ts";
import { readR1cs } from "../setup/r1cs.ts";
import { chainCircuit } from "./chainCircuit.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const OUT = join(ROOT, "build", "bench", "setup");

function compileR1cs(name: string, source: string): string {
  mkdirSync(OUT, { recursive: true });
  const circom = join(OUT, `${name}.circom`);
  const r1cs = join(OUT, `${name}.r1cs`);
  if (existsSync(r1cs) && existsSync(circom) && readFileSync(circom, "utf8") === source) return r1cs;
  rmSync(r1cs, { force: true });
  writeFileSync(circom, source);
  const t = performance.now();
  // circom2 runs under WASI and only sees the working directory: relative paths from the repo root.
  execFileSync(join(ROOT, "node_modules/.bin/circom2"), [relative(ROOT, circom), "--r1cs", "--O2", "-o", relative(ROOT, OUT)], {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "inherit"],
  });
  console.error(`compiled ${name} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  return r1cs;
}

interface Row {
  label: string;
  nConstraints: number;
  nVars: number;
  domainSize: number;
  zkeyMiB: number;
  wall: number;
  cpu: number;
  load: number;
}

async function benchOne(label: string, r1csPath: string, zkeyPath: string): Promise<Row> {
  const r1cs = await readR1cs(r1csPath);
  const load = loadavg()[0]!;
  const cpu0 = process.cpuUsage();
  const res = await devSetup({ r1csPath, zkeyPath, log: () => {} });
  const cpu = process.cpuUsage(cpu0);
  console.error(`${label}: ${res.seconds.toFixed(2)} s`);
  return {
    label,
    nConstraints: res.nConstraints,
    nVars: r1cs.nVars,
    domainSize: res.domainSize,
    zkeyMiB: statSync(zkeyPath).size / 2 ** 20,
    wall: res.seconds,
    cpu: (cpu.user + cpu.system) / 1e6,
    load,
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.length === 0) args.push("16", "17", "18");
  const rows: Row[] = [];
  for (const arg of args) {
    if (arg.endsWith(".r1cs")) {
      const name = arg.split("/").pop()!.replace(/\.r1cs$/, "");
      mkdirSync(OUT, { recursive: true });
      rows.push(await benchOne(name, arg, join(OUT, `${name}.zkey`)));
      continue;
    }
    const power = Number(arg);
    if (!Number.isInteger(power) || power < 4 || power > 22) throw new Error(`bad argument ${arg}: a power (4..22) or an .r1cs path`);
    const nConstraints = 2 ** power - 64;
    const name = `chain-${nConstraints}`;
    const r1csPath = compileR1cs(name, chainCircuit(nConstraints));
    rows.push(await benchOne(`chain 2^${power}`, r1csPath, join(OUT, `${name}.zkey`)));
  }
  console.log("\ndevSetup (INSECURE dev key), " + `${availableParallelism()} cores`);
  console.log("| circuit | constraints | wires | domain | zkey MiB | wall s | CPU s | load avg at start |");
  console.log("|---|---|---|---|---|---|---|---|");
  for (const r of rows) {
    console.log(
      `| ${r.label} | ${r.nConstraints} | ${r.nVars} | 2^${Math.log2(r.domainSize)} | ${r.zkeyMiB.toFixed(1)} | ${r.wall.toFixed(2)} | ${r.cpu.toFixed(2)} | ${r.load.toFixed(2)} |`,
    );
  }
}

await main();
