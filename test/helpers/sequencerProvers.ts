/**
 * Provers for sequencer tests that stand in for a proving device without proving:
 * - circuitProver computes the witness of every batch with the compiled batch circuit (circom's runtime,
 *   the wasm compiled once), so a batch the circuit refuses fails exactly as it would on a device (the
 *   runtime's "Assert Failed ... Error in template" error), and answers a dummy proof otherwise;
 * - gatedProver holds each proof until the test releases it (a batch being proven while intake goes on).
 * Neither checks a proof: the fake custodian (fakeCustodian.ts) verifies none. refusingVerifier is a
 * signature verifier that refuses one chosen signature: a signature problem found while a batch is built.
 */
import { verifyMessage } from "../../sequencer/crypto/babyjub.ts";
import { messageValue, type SignatureCheck, type SignatureVerifier } from "../../sequencer/crypto/signatureVerifier.ts";
import type { ExpectedSignals, VerifiedProver } from "../../fpga-prover/prover.ts";
import { calculateWitness } from "../../fpga-prover/witness.ts";
import { loadBatchCircuit } from "./circuitRules.ts";
import { dummyProof } from "./fakeCustodian.ts";

let wasm: Promise<string> | undefined;

/** The batch circuit's wasm at TEST_PARAMS (built or taken from the build cache once). */
export function testCircuitWasm(): Promise<string> {
  wasm ??= loadBatchCircuit();
  return wasm;
}

/**
 * A prover that computes a batch's witness with the real circuit when `check(jobId, input)` says so
 * (default: always) and throws the circuit's refusal as a device would; `witnesses` counts the witnesses computed.
 */
export function circuitProver(check: (jobId: number, input: Record<string, unknown>) => boolean = () => true): VerifiedProver & { calls: number; witnesses: number } {
  const prover = {
    calls: 0,
    witnesses: 0,
    async prove(jobId: number, _keys: unknown, input: Record<string, unknown>, expected: ExpectedSignals) {
      prover.calls++;
      if (check(jobId, input)) {
        prover.witnesses++;
        await calculateWitness(await testCircuitWasm(), input);
      }
      return dummyProof(expected);
    },
  };
  return prover as unknown as VerifiedProver & { calls: number; witnesses: number };
}

/**
 * A prover whose proofs wait for the test while `open` is false: `started` resolves when a proof waits,
 * `release()` lets the oldest waiting one finish (`held`: how many wait). While `open`, proofs return at once.
 */
export type GatedProver = VerifiedProver & { calls: number; open: boolean; readonly held: number; started: () => Promise<void>; release: () => void };

export function gatedProver(): GatedProver {
  const waiting: (() => void)[] = [];
  let onStart: (() => void) | null = null;
  const prover = {
    calls: 0,
    open: false,
    get held() {
      return waiting.length;
    },
    started: () => (waiting.length > 0 ? Promise.resolve() : new Promise<void>((r) => (onStart = r))),
    release: () => waiting.shift()?.(),
    async prove(_jobId: number, _keys: unknown, _input: unknown, expected: ExpectedSignals) {
      prover.calls++;
      if (!prover.open) {
        await new Promise<void>((resolve) => {
          waiting.push(resolve);
          onStart?.();
          onStart = null;
        });
      }
      return dummyProof(expected);
    },
  };
  return prover as unknown as GatedProver;
}

/** A verifier (the reference's verdicts) that refuses every signature whose S is `refuse`, once set. */
export function refusingVerifier(): SignatureVerifier & { refuse: bigint | null; refused: Set<bigint> } {
  const v = {
    refuse: null as bigint | null,
    /** More signatures to refuse (by `s`), beside `refuse`. */
    refused: new Set<bigint>(),
    name: "refusing",
    verifyBatch: (checks: readonly SignatureCheck[]) =>
      checks.map((c) => c.signature.s !== v.refuse && !v.refused.has(c.signature.s) && verifyMessage(messageValue(c.message), c.signature, c.publicKey)),
  };
  return v;
}
