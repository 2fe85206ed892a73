// Direct access to ffjavascript's bn128 WebAssembly engine (the code wasmcurves generates), on a
// memory we own, so that loops over field and curve primitives run without ffjavascript's
// per-call buffer copies.
//
// Conventions of that engine (the same ones snarkjs relies on):
//  - Fr and Fq elements are 32 bytes little-endian; "frm_"/"f1m_" functions work on Montgomery form.
//  - G1 points: Jacobian (x, y, z) 96 bytes, affine (x, y) 64 bytes, coordinates in Montgomery form;
//    the affine zero is all-zero bytes. G2: twice those sizes (Fq2 coordinates).
//  - Scalars passed to the curve's timesScalar/multiexp functions are in normal (non-Montgomery) form.
//  - u32 at address 0 is the engine's free-memory pointer; batch functions (batchInverse,
//    batchToAffine, ...) take scratch space from there, so allocations must bump it and leave headroom.
import { loadFfjavascript, type Bn128Curve } from "./zkLibs.ts";

export type WasmFn = (...args: number[]) => number;
export type Bn128Exports = Record<string, WasmFn>;

// The project's TypeScript libs (es2023 + @types/node) do not declare the WebAssembly global:
// the few members used here, typed locally.
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
/** Opaque compiled module (a WebAssembly.Module; can be posted to worker threads). */
export type WasmModule = { readonly __wasmModule: unique symbol };
interface WasmApi {
  Memory: new (d: { initial: number; maximum?: number }) => WasmMemory;
  compile(code: Uint8Array): Promise<WasmModule>;
  instantiate(module: WasmModule, imports: object): Promise<{ exports: object }>;
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export const FR_BYTES = 32;
export const G1_AFFINE = 64;
export const G1_JACOBIAN = 96;
export const G2_AFFINE = 128;
export const G2_JACOBIAN = 192;

const PAGE = 65536;
const MAX_PAGES = 65536; // 4 GiB, the wasm32 limit

export interface Bn128Engine {
  curve: Bn128Curve;
  module: WasmModule;
}

let enginePromise: Promise<Bn128Engine> | undefined;

/** Builds (once per process) ffjavascript's single-threaded bn128 engine and compiles its wasm code. */
export function loadBn128Engine(): Promise<Bn128Engine> {
  enginePromise ??= (async () => {
    const ffjs = await loadFfjavascript();
    const curve = await ffjs.buildBn128(true);
    const module = await WA.compile(curve.tm.code);
    return { curve, module };
  })();
  return enginePromise;
}

export class Bn128Wasm {
  readonly memory: WasmMemory;
  readonly ex: Bn128Exports;

  private constructor(memory: WasmMemory, ex: Bn128Exports) {
    this.memory = memory;
    this.ex = ex;
  }

  static async create(module: WasmModule, initialBytes = 64 * PAGE): Promise<Bn128Wasm> {
    const memory = new WA.Memory({ initial: Math.ceil(initialBytes / PAGE), maximum: MAX_PAGES });
    const instance = await WA.instantiate(module, { env: { memory } });
    return new Bn128Wasm(memory, instance.exports as unknown as Bn128Exports);
  }

  get u8(): Uint8Array {
    return new Uint8Array(this.memory.buffer);
  }

  get freePointer(): number {
    return new Uint32Array(this.memory.buffer, 0, 1)[0]!;
  }

  set freePointer(p: number) {
    new Uint32Array(this.memory.buffer, 0, 1)[0] = p;
  }

  /** Grows the memory so that `bytes` past the free pointer are addressable. */
  ensureHeadroom(bytes: number): void {
    const need = this.freePointer + bytes + PAGE;
    const have = this.memory.buffer.byteLength;
    if (need > have) this.memory.grow(Math.ceil((need - have) / PAGE));
  }

  /** Bump allocation (8-byte aligned). Invalidates earlier views of memory.buffer if it grows. */
  alloc(bytes: number): number {
    const p = Math.ceil(this.freePointer / 8) * 8;
    this.freePointer = p;
    this.ensureHeadroom(bytes);
    this.freePointer = p + bytes;
    return p;
  }

  write(p: number, data: Uint8Array): void {
    this.u8.set(data, p);
  }

  read(p: number, n: number): Uint8Array {
    return this.u8.slice(p, p + n);
  }
}
