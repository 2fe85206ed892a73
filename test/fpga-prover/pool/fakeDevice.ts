// In-process fake ProvingDevice for pool tests: configurable delay and faults, no cryptography.
// A fake proof is valid for signals S iff proof.curve === tag(S); the public signals are [input.x].
import type { Groth16Proof } from "snarkjs";
import type { CircuitKeys, ProofResult, ProvingDevice } from "../../../fpga-prover/device.ts";

/** "witness": throws what circom's witness calculator throws when the circuit refuses the input. */
export type ProveFault = "none" | "throw" | "invalid" | "stall" | "wrong-input" | "witness";
export type VerifyFault = "none" | "throw" | "reject-all" | "stall";

export type FakeOptions = {
  proveMs?: number;
  verifyMs?: number;
  prove?: ProveFault;
  verify?: VerifyFault;
  /** how long a stalled call takes before it (late) answers; default: never */
  stallMs?: number;
  /** the fault applies only to the first n calls, then the device behaves */
  faultyCalls?: number;
};

export const KEYS: CircuitKeys = { wasm: "fake.wasm", zkey: "fake.zkey", vkey: {} };

const tag = (signals: readonly string[]) => `ok:${signals.join(",")}`;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class FakeDevice implements ProvingDevice {
  readonly name: string;
  opts: FakeOptions;
  proveCalls = 0;
  verifyCalls = 0;
  active = 0;
  maxActive = 0;
  /** inputs proved, in call order */
  readonly proved: unknown[] = [];
  private readonly stallTimers: ReturnType<typeof setTimeout>[] = [];

  constructor(name: string, opts: FakeOptions = {}) {
    this.name = name;
    this.opts = opts;
  }

  private faultActive(calls: number): boolean {
    return this.opts.faultyCalls === undefined || calls <= this.opts.faultyCalls;
  }

  private async enter<T>(work: () => Promise<T>): Promise<T> {
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      return await work();
    } finally {
      this.active--;
    }
  }

  private stall(): Promise<never> {
    return new Promise<never>((_, reject) => {
      if (this.opts.stallMs !== undefined) this.stallTimers.push(setTimeout(() => reject(new Error(`${this.name}: late`)), this.opts.stallMs));
    });
  }

  prove(_keys: CircuitKeys, input: Record<string, unknown>): Promise<ProofResult> {
    return this.enter(async () => {
      const n = ++this.proveCalls;
      this.proved.push(input.x);
      const fault = this.faultActive(n) ? (this.opts.prove ?? "none") : "none";
      if (fault === "stall") return this.stall();
      await sleep(this.opts.proveMs ?? 5);
      if (fault === "throw") throw new Error(`${this.name}: device error`);
      if (fault === "witness") throw new Error("Error: Assert Failed.\nError in template Batch_788 line: 349");
      const signals = [String(input.x)];
      const publicSignals = fault === "wrong-input" ? [String(BigInt(String(input.x)) + 1000n)] : signals;
      const proof = { pi_a: [], pi_b: [], pi_c: [], protocol: "groth16", curve: fault === "invalid" ? "garbage" : tag(publicSignals) } as unknown as Groth16Proof;
      return { proof, publicSignals, timings: { witnessMs: 1, proveMs: this.opts.proveMs ?? 5 } };
    });
  }

  verify(_keys: CircuitKeys, publicSignals: readonly string[], proof: Groth16Proof): Promise<boolean> {
    return this.enter(async () => {
      const n = ++this.verifyCalls;
      const fault = this.faultActive(n) ? (this.opts.verify ?? "none") : "none";
      if (fault === "stall") return this.stall();
      await sleep(this.opts.verifyMs ?? 1);
      if (fault === "throw") throw new Error(`${this.name}: verifier error`);
      if (fault === "reject-all") return false;
      return (proof as unknown as { curve: string }).curve === tag(publicSignals);
    });
  }

  dispose(): void {
    for (const t of this.stallTimers) clearTimeout(t);
  }
}

export const isValidFake = (proof: Groth16Proof, signals: readonly string[]) => (proof as unknown as { curve: string }).curve === tag(signals);
