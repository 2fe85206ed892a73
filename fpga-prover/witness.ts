/**
 * The circuit's witness calculator (circom's runtime, the one snarkjs uses for .wasm witnesses), with
 * each circuit's wasm compiled and instantiated once per process instead of on every call: the native
 * device computes every proof's witness with it, and the sequencer uses it as a cheap check of what the
 * circuit refuses (a witness costs a small fraction of a proof). Its refusals (a failed assertion or
 * constraint) name the failing templates and lines: witnessFailureChain.
 */
import { readFile } from "node:fs/promises";

type WitnessCalculator = { calculateWTNSBin(input: Record<string, unknown>, sanityCheck?: boolean): Promise<Uint8Array> };
type WitnessCalculatorBuilder = (code: Uint8Array, options?: Record<string, unknown>) => Promise<WitnessCalculator>;

let builderPromise: Promise<WitnessCalculatorBuilder> | undefined;
function witnessCalculatorBuilder(): Promise<WitnessCalculatorBuilder> {
  // circom_runtime ships no type declarations; it is the runtime snarkjs itself uses for .wasm witnesses
  const name = "circom_runtime";
  builderPromise ??= (import(name) as Promise<{ WitnessCalculatorBuilder: WitnessCalculatorBuilder }>).then((m) => m.WitnessCalculatorBuilder);
  return builderPromise;
}

/** One compiled and instantiated witness wasm per circuit, reused across calls (the runtime resets it per witness). */
const calculators = new Map<string, Promise<WitnessCalculator>>();
/** The last call on each calculator: calls on one wasm instance run one after another, never interleaved. */
const queues = new Map<string, Promise<unknown>>();

/**
 * The .wtns image of the witness of `input` (as snarkjs.wtns.calculate writes it). Rejects with the
 * runtime's error when the circuit refuses the input ("Assert Failed", "Error in template X_n line: L").
 */
export async function calculateWitness(wasmPath: string, input: Record<string, unknown>): Promise<Uint8Array> {
  let wc = calculators.get(wasmPath);
  if (!wc) {
    wc = (async () => (await witnessCalculatorBuilder())(await readFile(wasmPath)))();
    calculators.set(wasmPath, wc);
    wc.catch(() => calculators.delete(wasmPath));
  }
  const calculator = wc;
  const run = (queues.get(wasmPath) ?? Promise.resolve()).catch(() => {}).then(async () => (await calculator).calculateWTNSBin(input));
  queues.set(wasmPath, run);
  return run;
}

/** The failing chain "Template:line" (innermost first) of a witness-calculation error; empty when it names none. */
export function witnessFailureChain(e: unknown): string[] {
  return [...String(e instanceof Error ? e.message : e).matchAll(/Error in template (\w+?)_\d+ line: (\d+)/g)].map((m) => `${m[1]}:${m[2]}`);
}
