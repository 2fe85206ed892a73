/**
 * The safety net for a TypeScript/circuit mismatch (issue 11: one accepted request must never stop
 * settlement): the witness builder's rules are meant to refuse everything the circuit refuses, but
 * should the prover report a batch input the circuit refuses, the sequencer finds the transaction by
 * bisection with the witness calculator and takes it out (batchPipeline.ts, rejectCircuitRefusal:
 * code CIRCUIT_REFUSED) instead of retrying the same batch forever.
 */
import { isWitnessFailure, ProverPoolError } from "../../fpga-prover/pool/index.ts";

/**
 * True when a prover's error says the circuit refuses the input (its witness fails: no device is at
 * fault): a ProverPool's verdict (ProverPoolError.inputRefused), or a single device's witness error.
 */
export function circuitRefused(e: unknown): boolean {
  if (e instanceof ProverPoolError) return e.inputRefused;
  return isWitnessFailure(e instanceof Error ? e.message : String(e));
}

/** Where the circuit refuses a batch: the index of the transaction (-1: the batch with none, i.e. its oracle step) and the failing chain "Template:line", innermost first. */
export type CircuitRefusal = { index: number; chain: string[] };

/**
 * The first transaction of a batch of `n` that the circuit refuses, by bisection over prefixes:
 * `witnessOf(k)` computes the witness of the batch of the first k transactions (same stamp, same oracle
 * update; the rest no-ops) and returns null when the circuit takes it, else the failing chain. A slot
 * sees only the state the slots before it leave, so a prefix that holds the refused transaction is
 * refused and one that ends before it is not: the shortest refused prefix ends with it. Null when the
 * whole batch is taken (the refusal is not reproduced). Costs 2 + log2(n) witnesses at most.
 */
export async function findCircuitRefusal(n: number, witnessOf: (k: number) => Promise<string[] | null>): Promise<CircuitRefusal | null> {
  let chain = await witnessOf(n);
  if (!chain) return null;
  // invariant: the prefix of `hi` is refused (with `chain`); that of `lo` is taken (lo = -1: none is known to be)
  let lo = -1;
  let hi = n;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    const refused = await witnessOf(mid);
    if (refused) {
      hi = mid;
      chain = refused;
    } else lo = mid;
  }
  return { index: hi - 1, chain };
}
