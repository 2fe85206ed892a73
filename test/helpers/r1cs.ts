/**
 * A circuit's constraint system read from circom's .r1cs and checked against a witness in JavaScript: which
 * constraints a witness breaks, and which wires a dishonest prover could change alone with every constraint
 * still holding (an unconstrained or under-constrained signal, found on this witness). The witness
 * calculator only runs the circuit's own assignments (`<--`, `<==`); this checks the constraints a prover's
 * witness is held to, whatever it wrote.
 */
import { readFileSync } from "node:fs";
import * as snarkjs from "snarkjs";
import { FIELD_MODULUS } from "../../sequencer/protocol/constants.ts";

/** A linear combination: (wire, coefficient) pairs. */
type Lc = [number, bigint][];
export type R1cs = { nVars: number; nOutputs: number; nPubInputs: number; nPrvInputs: number; constraints: [Lc, Lc, Lc][] };

export async function loadR1cs(path: string): Promise<R1cs> {
  type Json = { nVars: number; nOutputs: number; nPubInputs: number; nPrvInputs: number; constraints: Record<string, string>[][] };
  const r1cs = (snarkjs as unknown as { r1cs: { exportJson(p: string, logger?: unknown): Promise<Json> } }).r1cs;
  const json = await r1cs.exportJson(path, undefined);
  const lc = (m: Record<string, string>): Lc => Object.entries(m).map(([k, v]) => [Number(k), BigInt(v)]);
  return { ...json, constraints: json.constraints.map(([a, b, c]) => [lc(a!), lc(b!), lc(c!)]) };
}

/** Each wire's signal name from circom's .sym (the first name that wire carries; lines: label, wire, component, name). */
export function wireNames(symPath: string): Map<number, string> {
  const names = new Map<number, string>();
  for (const line of readFileSync(symPath, "utf8").split("\n")) {
    const [, wire, , name] = line.split(",");
    if (name !== undefined && Number(wire) >= 0 && !names.has(Number(wire))) names.set(Number(wire), name);
  }
  return names;
}

const dot = (lc: Lc, w: readonly bigint[]) => lc.reduce((acc, [k, c]) => (acc + c * w[k]!) % FIELD_MODULUS, 0n);
const holds = ([a, b, c]: [Lc, Lc, Lc], w: readonly bigint[]) => (dot(a, w) * dot(b, w) - dot(c, w)) % FIELD_MODULUS === 0n;

/** The indices of the constraints `w` breaks. */
export function broken(r: R1cs, w: readonly bigint[]): number[] {
  return r.constraints.flatMap((c, i) => (holds(c, w) ? [] : [i]));
}

/**
 * The wires (1 .. nVars - 1: outputs, inputs and every intermediate signal) that can be changed alone, by
 * each of `deltas`, with every constraint still holding: none in a circuit that pins each signal.
 */
export function freeWires(r: R1cs, w: readonly bigint[], deltas: readonly bigint[] = [1n, FIELD_MODULUS - 1n]): number[] {
  const uses: number[][] = Array.from({ length: r.nVars }, () => []);
  r.constraints.forEach((c, i) => {
    for (const k of new Set(c.flatMap((lc) => lc.map(([wire]) => wire)))) uses[k]!.push(i);
  });
  const m = [...w];
  const free: number[] = [];
  for (let k = 1; k < r.nVars; k++) {
    const original = m[k]!;
    const escapes = deltas.some((d) => {
      m[k] = (original + d) % FIELD_MODULUS;
      return uses[k]!.every((i) => holds(r.constraints[i]!, m));
    });
    m[k] = original;
    if (escapes) free.push(k);
  }
  return free;
}
