// Benchmark of the development Groth16 setup (scripts/setup/devSetup.ts) on synthetic circuits.
//
//   npx tsx scripts/bench/setup.ts            # domains 2^16, 2^17 (~130k constraints), 2^18
//   npx tsx scripts/bench/setup.ts 16 18      # chosen log2 domain sizes
//
// Each circuit is a chain of 2^k - 64 multiplications x[i] = x[i-1] * x[i-2] (one public input),
// so its Groth16 domain is exactly 2^k and every wire appears in A, B and C. Circuits are compiled
// once with circom2 (r1cs only) into build/bench/ and reused while their source is unchanged.
// CPU seconds (user + system, all threads of this process) are reported next to wall-clock
// seconds because the machine may be shared.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync, rmSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { devSetup } from "../setup/devSetup.ts";
import { readR1cs } from "../setup/r1cs.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const OUT = join(ROOT, "build", "bench");

export function chainCircuit(nConstraints: number): string {
  return `pragma circom 2.1.0;

// Synthetic benchmark circuit: ${nConstraints} multiplication constraints.
template Chain(N) {
    signal input a;
    signal input b;
    signal output out;
    signal x[N];
    x[0] <== a * b;
    x[1] <== x[0] * b;
    for (var i = 2; i < N; i++) x[i] <== x[i - 1] * x[i - 2];
    out <== x[N - 1] * a;
}

component main { public [a] } = Chain(${nConstraints - 1});
`;
}

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
  power: number;
  nConstraints: number;
  nVars: number;
  domainSize: number;
  zkeyMiB: number;
  wall: number;
  cpu: number;
  load: number;
}

async function main(): Promise<void> {
  const powers = process.argv.slice(2).map(Number);
  if (powers.length === 0) powers.push(16, 17, 18);
  const rows: Row[] = [];
  for (const power of powers) {
    if (!Number.isInteger(power) || power < 4 || power > 22) throw new Error(`bad power ${power}`);
    const nConstraints = 2 ** power - 64;
    const name = `chain-${nConstraints}`;
    const r1csPath = compileR1cs(name, chainCircuit(nConstraints));
    const r1cs = await readR1cs(r1csPath);
    const zkeyPath = join(OUT, `${name}.zkey`);
    const load = loadavg()[0]!;
    const cpu0 = process.cpuUsage();
    const res = await devSetup({ r1csPath, zkeyPath, log: () => {} });
    const cpu = process.cpuUsage(cpu0);
    rows.push({
      power,
      nConstraints: res.nConstraints,
      nVars: r1cs.nVars,
      domainSize: res.domainSize,
      zkeyMiB: statSync(zkeyPath).size / 2 ** 20,
      wall: res.seconds,
      cpu: (cpu.user + cpu.system) / 1e6,
      load,
    });
    console.error(`2^${power}: ${res.seconds.toFixed(2)} s`);
  }
  console.log("\ndevSetup (INSECURE dev key) on chain-of-multiplications circuits");
  console.log("| domain | constraints | wires | zkey MiB | wall s | CPU s | load avg at start |");
  console.log("|---|---|---|---|---|---|---|");
  for (const r of rows) {
    console.log(
      `| 2^${r.power} | ${r.nConstraints} | ${r.nVars} | ${r.zkeyMiB.toFixed(1)} | ${r.wall.toFixed(2)} | ${r.cpu.toFixed(2)} | ${r.load.toFixed(2)} |`,
    );
  }
}

await main();
