/** Shared helpers of the `npm run bench` sections: timing statistics, markdown tables, formatting. */
import { cpus, loadavg } from "node:os";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { hexToBytes, type Hex } from "viem";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export type Stats = { n: number; mean: number; median: number; min: number; max: number };

export function stats(samples: readonly number[]): Stats {
  if (samples.length === 0) throw new Error("stats of no samples");
  const s = [...samples].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { n: s.length, mean: s.reduce((a, b) => a + b, 0) / s.length, median, min: s[0]!, max: s[s.length - 1]! };
}

/** Milliseconds of one call of `f`. */
export function timeMs(f: () => void): number {
  const t = process.hrtime.bigint();
  f();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

export async function timeMsAsync(f: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await f();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

/**
 * Runs `f` `warmup` times untimed, then `n` times, and returns per-call milliseconds. `f` gets the run
 * index and returns the milliseconds to count (so it can leave its own set-up and clean-up untimed).
 */
export function sample(n: number, warmup: number, f: (i: number) => number): Stats {
  for (let i = 0; i < warmup; i++) f(i);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(f(warmup + i));
  return stats(out);
}

export async function sampleAsync(n: number, warmup: number, f: (i: number) => Promise<number>): Promise<Stats> {
  for (let i = 0; i < warmup; i++) await f(i);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await f(warmup + i));
  return stats(out);
}

/** Intrinsic calldata gas of `data` at 4 per zero byte and 16 per non-zero byte (EIP-2028), and its length. */
export function calldataGas(data: Hex | Uint8Array): { bytes: number; gas: number } {
  const b = typeof data === "string" ? hexToBytes(data) : data;
  let gas = 0;
  for (const x of b) gas += x === 0 ? 4 : 16;
  return { bytes: b.length, gas };
}

/** The p-th percentile (0..100) of ascending `sorted` samples, by rank (NaN when there are none). */
export const percentile = (sorted: readonly number[], p: number): number =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN;

/** Integer with thousands separators. */
export const int = (x: number | bigint): string => (typeof x === "bigint" ? x.toLocaleString("en-US") : Math.round(x).toLocaleString("en-US"));

/** A duration given in milliseconds, in a readable unit (µs below 1 ms, s from 10 s). */
export function dur(ms: number): string {
  if (ms < 1) return `${(ms * 1000).toFixed(ms < 0.01 ? 2 : 1)} µs`;
  if (ms < 10_000) return `${ms.toFixed(ms < 10 ? 2 : ms < 100 ? 1 : 0)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

export const pct = (part: number, whole: number): string => `${((100 * part) / whole).toFixed(1)}%`;

/** A markdown table; numbers are right-aligned by the markdown renderer's `---:` marker. */
export function table(header: readonly string[], rows: readonly (readonly (string | number)[])[], align?: readonly ("l" | "r")[]): string {
  const a = align ?? header.map((_, i) => (i === 0 ? "l" : "r"));
  const lines = [
    `| ${header.join(" | ")} |`,
    `|${a.map((x) => (x === "r" ? "---:" : ":---")).join("|")}|`,
    ...rows.map((r) => `| ${r.map(String).join(" | ")} |`),
  ];
  return lines.join("\n");
}

/** A section heading, with the machine's load when its figures were taken (the machine may be shared). */
export function section(title: string): void {
  console.log(`\n## ${title}\n\n_Load average (1 / 5 min) at print time: ${loadavg().slice(0, 2).map((x) => x.toFixed(2)).join(" / ")} on ${cpus().length} cores._\n`);
}

/** One line describing the machine, printed once per run. */
export function machineLine(): string {
  const c = cpus();
  return `node ${process.version}, ${c.length} × ${c[0]?.model.trim() ?? "unknown CPU"}, load average ${loadavg()[0]!.toFixed(2)}`;
}

/** Progress messages go to stderr so that stdout holds only the tables. */
export function progress(msg: string): void {
  console.error(`[bench] ${msg}`);
}
