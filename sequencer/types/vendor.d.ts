// Minimal type declarations for untyped dependencies: only what this project uses.
declare module "circomlibjs" {
  export type FieldElement = Uint8Array;
  export interface Field {
    e(v: bigint | number | string): FieldElement;
    toObject(v: FieldElement): bigint;
    zero: FieldElement;
  }
  export interface Poseidon {
    (inputs: readonly (bigint | FieldElement)[]): FieldElement;
    F: Field;
  }
  export interface Eddsa {
    F: Field;
    babyJub: { F: Field; subOrder: bigint; Base8: [FieldElement, FieldElement]; inSubgroup(p: [FieldElement, FieldElement]): boolean; inCurve(p: [FieldElement, FieldElement]): boolean };
    prv2pub(prv: Uint8Array): [FieldElement, FieldElement];
    signPoseidon(prv: Uint8Array, msg: FieldElement): { R8: [FieldElement, FieldElement]; S: bigint };
    verifyPoseidon(msg: FieldElement, sig: { R8: [FieldElement, FieldElement]; S: bigint }, pub: [FieldElement, FieldElement]): boolean;
  }
  export interface BabyJub {
    F: Field;
    subOrder: bigint;
    Base8: [FieldElement, FieldElement];
    Generator: [FieldElement, FieldElement];
    addPoint(a: FieldElement[], b: FieldElement[]): [FieldElement, FieldElement];
    mulPointEscalar(p: FieldElement[], e: bigint): [FieldElement, FieldElement];
    inCurve(p: FieldElement[]): boolean;
    inSubgroup(p: FieldElement[]): boolean;
    unpackPoint(buff: Uint8Array): [FieldElement, FieldElement] | null;
    packPoint(p: [FieldElement, FieldElement]): Uint8Array;
  }
  export function buildBabyjub(): Promise<BabyJub>;
  export function buildPoseidon(): Promise<Poseidon>;
  export function buildEddsa(): Promise<Eddsa>;
  /** EVM bytecode of a Poseidon hasher of `nInputs` (1..8) field elements, and its ABI (`poseidon(uint256[n])`). */
  export const poseidonContract: {
    createCode(nInputs: number): string;
    generateABI(nInputs: number): import("viem").Abi;
  };
}
declare module "snarkjs" {
  export const groth16: {
    fullProve(input: unknown, wasm: string, zkey: string): Promise<{ proof: Groth16Proof; publicSignals: string[] }>;
    prove(zkey: string | Uint8Array, wtns: string | Uint8Array | { type: "mem"; data?: Uint8Array }): Promise<{ proof: Groth16Proof; publicSignals: string[] }>;
    verify(vkey: unknown, publicSignals: readonly string[], proof: Groth16Proof): Promise<boolean>;
    exportSolidityCallData(proof: Groth16Proof, publicSignals: readonly string[]): Promise<string>;
  };
  export const wtns: {
    calculate(input: unknown, wasm: string, out: string | { type: "mem"; data?: Uint8Array }): Promise<void>;
  };
  export const zKey: {
    exportVerificationKey(zkey: string): Promise<unknown>;
  };
  export type Groth16Proof = { pi_a: string[]; pi_b: string[][]; pi_c: string[]; protocol: string; curve: string };
}
// Type of the one call the worked example makes into blake-hash (circomlibjs's BLAKE-512, no types of its own).
declare module "blake-hash" {
  export default function createBlakeHash(algorithm: "blake512"): { update(data: Buffer): { digest(): Buffer } };
}
