// Typed access to the parts of snarkjs and ffjavascript the setup scripts use.
//
// Neither package ships TypeScript declarations. Rather than adding a project-wide ambient
// `declare module`, which would collide with whatever declarations other parts of the project
// add, the packages are loaded through a non-literal dynamic import and cast to the small
// interfaces below (checked by the tests, not by the compiler).

export type BigNumberish = string | number | bigint;

export interface Groth16Proof {
  pi_a: string[];
  pi_b: string[][];
  pi_c: string[];
  protocol: string;
  curve: string;
}

export interface VerificationKey {
  protocol: string;
  curve: string;
  nPublic: number;
  vk_alpha_1: string[];
  vk_beta_2: string[][];
  vk_gamma_2: string[][];
  vk_delta_2: string[][];
  vk_alphabeta_12: string[][][];
  IC: string[][];
}

/** A logger in the shape snarkjs expects (it calls all four methods without checking). */
export interface SnarkjsLogger {
  debug: (msg: string) => void;
  info: (msg: string) => void;
  warn: (msg: string) => void;
  error: (msg: string) => void;
}

type FileOrMem = string | { type: "mem"; data?: Uint8Array };

export interface Snarkjs {
  groth16: {
    fullProve(
      input: Record<string, unknown>,
      wasmFile: string,
      zkeyFile: string,
      logger?: SnarkjsLogger,
    ): Promise<{ proof: Groth16Proof; publicSignals: string[] }>;
    prove(zkeyFile: string, witnessFile: FileOrMem, logger?: SnarkjsLogger): Promise<{ proof: Groth16Proof; publicSignals: string[] }>;
    verify(vk: VerificationKey, publicSignals: BigNumberish[], proof: Groth16Proof, logger?: SnarkjsLogger): Promise<boolean>;
  };
  powersOfTau: {
    newAccumulator(curve: unknown, power: number, fileName: string, logger?: SnarkjsLogger): Promise<unknown>;
    contribute(oldPtau: string, newPtau: string, name: string, entropy: string, logger?: SnarkjsLogger): Promise<Uint8Array>;
    beacon(
      oldPtau: string,
      newPtau: string,
      name: string,
      beaconHashStr: string,
      numIterationsExp: number,
      logger?: SnarkjsLogger,
    ): Promise<Uint8Array>;
    preparePhase2(oldPtau: string, newPtau: string, logger?: SnarkjsLogger): Promise<void>;
    verify(ptau: string, logger?: SnarkjsLogger): Promise<boolean>;
  };
  zKey: {
    newZKey(r1cs: string, ptau: string, zkey: string, logger?: SnarkjsLogger): Promise<Uint8Array | -1>;
    contribute(oldZkey: string, newZkey: string, name: string, entropy: string, logger?: SnarkjsLogger): Promise<Uint8Array>;
    beacon(
      oldZkey: string,
      newZkey: string,
      name: string,
      beaconHashStr: string,
      numIterationsExp: number,
      logger?: SnarkjsLogger,
    ): Promise<Uint8Array>;
    verifyFromR1cs(r1cs: string, ptau: string, zkey: string, logger?: SnarkjsLogger): Promise<boolean>;
    exportVerificationKey(zkey: string, logger?: SnarkjsLogger): Promise<VerificationKey>;
    exportSolidityVerifier(zkey: string, templates: { groth16: string }, logger?: SnarkjsLogger): Promise<string>;
  };
  curves: {
    getCurveFromName(name: string): Promise<unknown>;
  };
  wtns: {
    calculate(input: Record<string, unknown>, wasmFile: string, wtnsFile: FileOrMem): Promise<void>;
  };
}

/** The subset of ffjavascript's bn128 engine used here. Field elements are Uint8Arrays in Montgomery form. */
export interface Bn128Curve {
  name: string;
  tm: {
    /** The wasm binary of the curve engine (set when built with singleThread = true). */
    code: Uint8Array;
    pG1gen: number;
    pG2gen: number;
    pG1zero: number;
    pG2zero: number;
    pq: number;
    pr: number;
  };
  Fr: {
    /** w[k] is a primitive 2^k-th root of unity (Montgomery form). */
    w: Uint8Array[];
    /** 2-adicity of r - 1 (28 for bn128). */
    s: number;
  };
  terminate(): Promise<void>;
}

export interface Ffjavascript {
  buildBn128(singleThread?: boolean): Promise<Bn128Curve>;
}

const SNARKJS: string = "snarkjs";
const FFJAVASCRIPT: string = "ffjavascript";

let snarkjsPromise: Promise<Snarkjs> | undefined;
let ffjsPromise: Promise<Ffjavascript> | undefined;

export function loadSnarkjs(): Promise<Snarkjs> {
  snarkjsPromise ??= import(SNARKJS).then((m: unknown) => m as Snarkjs);
  return snarkjsPromise;
}

export function loadFfjavascript(): Promise<Ffjavascript> {
  ffjsPromise ??= import(FFJAVASCRIPT).then((m: unknown) => m as Ffjavascript);
  return ffjsPromise;
}

/**
 * snarkjs keeps ffjavascript's worker threads alive in a process-wide curve (globalThis.curve_bn128);
 * end them so that a script or test process can exit.
 */
export async function terminateSnarkjsCurve(): Promise<void> {
  const g = globalThis as { curve_bn128?: { terminate(): Promise<void> } | null };
  if (g.curve_bn128) await g.curve_bn128.terminate();
}

/** How many withTransientSnarkjsCurve calls are running, and whether the first of them found no curve. */
let curveHolds = 0;
let curveIsOurs = false;

/**
 * Runs `work`, which may start snarkjs's process-wide curve (a circuit build's key and verifier exports do), and
 * ends the curve when the last such work finishes, if the first one found none running: a process that only built
 * a circuit can then exit, where the curve's worker threads would keep it alive after its last test or line. A
 * curve that was running before is left alone, and so is one while other work under this function still runs.
 */
export async function withTransientSnarkjsCurve<T>(work: () => Promise<T>): Promise<T> {
  if (curveHolds++ === 0) curveIsOurs = !(globalThis as { curve_bn128?: unknown }).curve_bn128;
  try {
    return await work();
  } finally {
    if (--curveHolds === 0 && curveIsOurs) {
      curveIsOurs = false;
      await terminateSnarkjsCurve();
    }
  }
}
