/**
 * The circuit's witness calculator (circom's runtime, the one snarkjs uses for .wasm witnesses), with
 * each circuit's wasm read once and instantiated once per process (again after a refusal) instead of
 * on every call: the native device computes every proof's witness with it, and the sequencer uses it as a cheap check of what the
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

/** Each circuit's wasm, read once. */
const codes = new Map<string, Promise<Uint8Array>>();
/**
 * One instantiated witness wasm per circuit, reused across the calls it answers. A call that fails
 * retires its instance: circom's runtime keeps every failure's message in the instance (each later
 * error would carry the first refusal's template and line, and grow without bound) and a trap leaves
 * the wasm's own state where it stopped. The next call instantiates a fresh one.
 */
const calculators = new Map<string, Promise<WitnessCalculator>>();
/** The last call on each circuit: calls on one wasm instance run one after another, never interleaved. */
const queues = new Map<string, Promise<unknown>>();

function readCode(wasmPath: string): Promise<Uint8Array> {
  let code = codes.get(wasmPath);
  if (!code) {
    code = readFile(wasmPath);
    codes.set(wasmPath, code);
    code.catch(() => codes.delete(wasmPath));
  }
  return code;
}

function calculatorFor(wasmPath: string): Promise<WitnessCalculator> {
  let wc = calculators.get(wasmPath);
  if (!wc) {
    wc = (async () => (await witnessCalculatorBuilder())(await readCode(wasmPath)))();
    calculators.set(wasmPath, wc);
    wc.catch(() => calculators.delete(wasmPath));
  }
  return wc;
}

/**
 * The .wtns image of the witness of `input` (as snarkjs.wtns.calculate writes it). Rejects with the
 * runtime's error when the circuit refuses the input ("Assert Failed", "Error in template X_n line: L"):
 * that error names this input's failure only.
 */
export async function calculateWitness(wasmPath: string, input: Record<string, unknown>): Promise<Uint8Array> {
  const run = (queues.get(wasmPath) ?? Promise.resolve()).catch(() => {}).then(async () => {
    const calculator = calculatorFor(wasmPath);
    try {
      return await (await calculator).calculateWTNSBin(input);
    } catch (e) {
      if (calculators.get(wasmPath) === calculator) calculators.delete(wasmPath);
      throw e;
    }
  });
  queues.set(wasmPath, run);
  return run;
}

/** The failing chain "Template:line" (innermost first) of a witness-calculation error; empty when it names none. */
export function witnessFailureChain(e: unknown): string[] {
  return [...String(e instanceof Error ? e.message : e).matchAll(/Error in template (\w+?)_\d+ line: (\d+)/g)].map((m) => `${m[1]}:${m[2]}`);
}
