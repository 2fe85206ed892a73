// Many fixed-base scalar multiplications k_i * G (G = the G1 or G2 generator) on worker threads.
//
// Method: a windowed table. With window width b and W = ceil(254 / b) windows, the table holds
// T[w][d] = d * 2^(b*w) * G (affine) for every digit d < 2^b, so k * G = sum_w T[w][digit_w(k)]:
// at most W additions per point. A chunk of points is processed window by window, and all the
// additions of one window are affine additions sharing a single field inversion (Montgomery's
// batch-inversion trick): about 6 field multiplications per addition instead of 11 for a mixed
// Jacobian addition, no final conversion to affine, and one 2^b-entry slice of the table in use
// at a time. For scalars < r added from the low window up, the two summands of an addition never
// share an x coordinate (the accumulator is k_low * G with k_low < 2^(b w) <= d 2^(b w) and
// k_low + d 2^(b w) < r), but that case still falls back to the engine's general addition.
// The table (W * 2^b points, built with the same batched additions) is split by windows over the
// workers and copied to each. b is chosen per group from the number of points (chooseWindow).
//
// Each worker owns an instance of ffjavascript's bn128 wasm engine and calls its exports
// (f1m_mul, f1m_batchInverse, g1m_addAffine, ...) directly in a JS loop; ffjavascript's own
// thread manager cannot run such loops. The worker source is plain JS kept in a string so that it runs the same
// under tsx, Hardhat's test runner or plain node, with no TypeScript loader in the worker.
import { Worker } from "node:worker_threads";
import { availableParallelism } from "node:os";
import { FR_BYTES, G1_AFFINE, G2_AFFINE, type WasmModule } from "./bn128Wasm.ts";

export type Group = "G1" | "G2";

const SCALAR_BITS = 254; // bn128's r < 2^254
const MAX_WORKERS = 16;

const WORKER_SOURCE = String.raw`
"use strict";
const { parentPort } = require("node:worker_threads");
const PAGE = 65536;
// f: bytes of a coordinate (Fq or Fq2), a: affine point, j: Jacobian point
const SZ = { G1: { f: 32, a: 64, j: 96, F: "f1m_", C: "g1m_" }, G2: { f: 64, a: 128, j: 192, F: "f2m_", C: "g2m_" } };
let ex, memory, gens;
const tables = {};

function freePtr() { return new Uint32Array(memory.buffer, 0, 1)[0]; }
function setFree(p) { new Uint32Array(memory.buffer, 0, 1)[0] = p; }
function alloc(bytes) {
  const p = Math.ceil(freePtr() / 8) * 8;
  reserve(p + bytes);
  setFree(p + bytes);
  return p;
}
function reserve(upTo) {
  const need = upTo + 4 * PAGE;
  const have = memory.buffer.byteLength;
  if (need > have) memory.grow(Math.ceil((need - have) / PAGE));
}
function ops(g) {
  const s = SZ[g];
  const o = { f: s.f, a: s.a, j: s.j };
  for (const k of ["sub", "mul", "square", "isZero", "copy", "batchInverse"]) o[k] = ex[s.F + k];
  for (const k of ["addAffine", "toAffine", "copy", "double", "zero", "isZeroAffine"]) o["g_" + k] = ex[s.C + k];
  return o;
}

// Scratch for batchAdd, sized for up to n additions.
function scratch(o, n) {
  const sc = { pDx: alloc(n * o.f), pInv: alloc(n * o.f), pT1: alloc(o.f), pT2: alloc(o.f), pLam: alloc(o.f), pJ: alloc(o.j) };
  reserve(freePtr() + (n + 1) * o.f); // batchInverse works above the free pointer
  return sc;
}

// r[i] = a[i] + b[i] for affine points (pointer arrays), sharing one field inversion:
// lambda = (yb - ya) / (xb - xa), x = lambda^2 - xa - xb, y = lambda (xa - x) - ya.
// r[i] may alias a[i]. Inputs must not be zero. Equal x coordinates (doubling or opposite points)
// fall back to the engine's general addition; returns how many of those sums were zero, and
// sets zeroed[i] = 1 for them.
function batchAdd(o, sc, n, a, b, r, zeroed) {
  const { f, sub, mul, square, isZero, copy } = o;
  const { pDx, pInv, pT1, pT2, pLam, pJ } = sc;
  let nZero = 0;
  for (let i = 0; i < n; i++) sub(b[i], a[i], pDx + i * f);
  o.batchInverse(pDx, f, n, pInv, f);
  for (let i = 0; i < n; i++) {
    const A = a[i], B = b[i], R = r[i];
    if (isZero(pDx + i * f)) {
      o.g_addAffine(A, B, pJ);
      o.g_toAffine(pJ, R);
      if (o.g_isZeroAffine(R)) {
        zeroed[i] = 1;
        nZero++;
      }
      continue;
    }
    sub(B + f, A + f, pT1);
    mul(pT1, pInv + i * f, pLam);
    square(pLam, pT1);
    sub(pT1, A, pT1);
    sub(pT1, B, pT1);
    sub(A, pT1, pT2);
    mul(pLam, pT2, pT2);
    sub(pT2, A + f, R + f);
    copy(pT1, R);
  }
  return nZero;
}

// Windows w0..w1-1 of the table: T[w][d] = d * 2^(b w) * G for d < 2^b (affine; T[w][0] = zero).
function buildTable(g, b, w0, w1) {
  const o = ops(g);
  const n = 2 ** b;
  const saved = freePtr();
  const pBase = alloc(o.j);
  const pT = alloc(n * o.a);
  const sc = scratch(o, n / 2);
  const a = new Float64Array(n / 2), bb = new Float64Array(n / 2), r = new Float64Array(n / 2);
  const zeroed = new Uint8Array(n / 2);
  const out = new Uint8Array((w1 - w0) * n * o.a);
  o.g_copy(gens[g], pBase);
  for (let i = 0; i < b * w0; i++) o.g_double(pBase, pBase);
  for (let w = w0; w < w1; w++) {
    const bitsLeft = ${SCALAR_BITS} - b * w;
    const m = bitsLeft >= b ? n : 2 ** bitsLeft; // entries needed: digits < m
    new Uint8Array(memory.buffer).fill(0, pT, pT + o.a);
    o.g_toAffine(pBase, pT + o.a);
    // Known T[0..h]; then T[2h] = 2 T[h] and T[h + i] = T[i] + T[h] for 0 < i < h, all batched.
    for (let h = 1; h < m; h *= 2) {
      if (2 * h < m) {
        o.g_addAffine(pT + h * o.a, pT + h * o.a, sc.pJ);
        o.g_toAffine(sc.pJ, pT + 2 * h * o.a);
      }
      const k = Math.min(h - 1, m - 1 - h);
      for (let i = 0; i < k; i++) {
        a[i] = pT + (i + 1) * o.a;
        bb[i] = pT + h * o.a;
        r[i] = pT + (h + i + 1) * o.a;
      }
      if (k > 0 && batchAdd(o, sc, k, a, bb, r, zeroed) > 0) throw new Error("table: unexpected zero point");
    }
    out.set(new Uint8Array(memory.buffer, pT, m * o.a), (w - w0) * n * o.a);
    for (let i = 0; i < b; i++) o.g_double(pBase, pBase);
  }
  setFree(saved);
  return out;
}

function setTable(g, b, nWindows, table) {
  const p = alloc(table.byteLength);
  new Uint8Array(memory.buffer).set(new Uint8Array(table), p);
  tables[g] = { p, b, nWindows };
}

// k_i * G for count scalars (32-byte LE, normal form, < r): window by window over the whole
// chunk, acc_i += T[w][digit], one batched inversion per window.
function mul(g, scalars, count) {
  const T = tables[g];
  if (!T) throw new Error("no table for " + g);
  const o = ops(g);
  const s32 = new Uint32Array(scalars);
  const saved = freePtr();
  const pAcc = alloc(count * o.a);
  const sc = scratch(o, count);
  const u8 = new Uint8Array(memory.buffer);
  u8.fill(0, pAcc, pAcc + count * o.a);
  const a = new Float64Array(count), bb = new Float64Array(count), idx = new Uint32Array(count);
  const nz = new Uint8Array(count), zeroed = new Uint8Array(count);
  const b = T.b, W = T.nWindows, mask = 2 ** b - 1, pT = T.p, sA = o.a;
  for (let w = 0; w < W; w++) {
    const bit = w * b, word = bit >>> 5, sh = bit & 31, spill = sh + b > 32 && word < 7;
    const pW = pT + w * 2 ** b * sA;
    let k = 0;
    for (let i = 0; i < count; i++) {
      const base = i * 8 + word;
      let v = s32[base] >>> sh;
      if (spill) v |= s32[base + 1] << (32 - sh);
      const d = v & mask;
      if (d === 0) continue;
      const pA = pAcc + i * sA, pD = pW + d * sA;
      if (nz[i] === 0) {
        u8.copyWithin(pA, pD, pD + sA);
        nz[i] = 1;
      } else {
        a[k] = pA;
        bb[k] = pD;
        idx[k] = i;
        k++;
      }
    }
    if (k > 0 && batchAdd(o, sc, k, a, bb, a, zeroed) > 0) {
      // only reachable for scalars >= r: the accumulator became zero, restart it from the next digit
      for (let j = 0; j < k; j++) {
        if (zeroed[j]) {
          nz[idx[j]] = 0;
          zeroed[j] = 0;
        }
      }
    }
  }
  const res = u8.slice(pAcc, pAcc + count * sA);
  setFree(saved);
  return res;
}

parentPort.on("message", (msg) => {
  try {
    let result = null;
    if (msg.cmd === "init") {
      memory = new WebAssembly.Memory({ initial: 64, maximum: 65536 });
      const instance = new WebAssembly.Instance(msg.module, { env: { memory } });
      ex = instance.exports;
      gens = { G1: msg.pG1gen, G2: msg.pG2gen };
    } else if (msg.cmd === "table") {
      result = buildTable(msg.group, msg.b, msg.w0, msg.w1);
    } else if (msg.cmd === "setTable") {
      setTable(msg.group, msg.b, msg.nWindows, msg.table);
    } else if (msg.cmd === "mul") {
      result = mul(msg.group, msg.scalars, msg.count);
    } else {
      throw new Error("unknown command " + msg.cmd);
    }
    parentPort.postMessage({ ok: true, result }, result ? [result.buffer] : []);
  } catch (e) {
    parentPort.postMessage({ ok: false, error: e && e.stack ? e.stack : String(e) });
  }
});
`;

interface Pending {
  resolve: (v: Uint8Array | null) => void;
  reject: (e: Error) => void;
}

interface WorkerReply {
  ok: boolean;
  result?: Uint8Array | null;
  error?: string;
}

export interface WindowChoice {
  b: number;
  nWindows: number;
}

/**
 * Window width minimising the number of additions: W * 2^b to build the table plus nPoints * W to
 * use it (both batched affine additions). Capped at 16 bits (a G2 table is then 128 MiB per worker).
 */
export function chooseWindow(nPoints: number): WindowChoice {
  let best: WindowChoice = { b: 1, nWindows: SCALAR_BITS };
  let bestCost = Infinity;
  for (let b = 1; b <= 16; b++) {
    const W = Math.ceil(SCALAR_BITS / b);
    const cost = W * 2 ** b + nPoints * W;
    if (cost < bestCost) {
      bestCost = cost;
      best = { b, nWindows: W };
    }
  }
  return best;
}

export class FixedBasePool {
  private readonly workers: Worker[];
  private readonly pending: Pending[][];
  private failed: Error | undefined;

  private constructor(workers: Worker[]) {
    this.workers = workers;
    this.pending = workers.map(() => []);
    workers.forEach((w, i) => {
      w.on("message", (m: WorkerReply) => {
        const p = this.pending[i]!.shift();
        if (!p) return;
        if (m.ok) p.resolve(m.result ?? null);
        else p.reject(new Error(`fixed-base worker ${i}: ${m.error}`));
      });
      w.on("error", (e: Error) => this.fail(e));
      w.on("exit", (code) => {
        if (this.pending[i]!.length > 0) this.fail(new Error(`fixed-base worker ${i} exited with code ${code}`));
      });
    });
  }

  get size(): number {
    return this.workers.length;
  }

  static async start(module: WasmModule, pG1gen: number, pG2gen: number, nWorkers = availableParallelism()): Promise<FixedBasePool> {
    const workers: Worker[] = [];
    // each worker holds its own copy of the tables (up to ~200 MiB): cap the count
    const count = Math.max(1, Math.min(nWorkers, MAX_WORKERS));
    for (let i = 0; i < count; i++) workers.push(new Worker(WORKER_SOURCE, { eval: true }));
    const pool = new FixedBasePool(workers);
    await Promise.all(workers.map((_, i) => pool.call(i, { cmd: "init", module, pG1gen, pG2gen })));
    return pool;
  }

  private fail(e: Error): void {
    this.failed ??= e;
    for (const q of this.pending) {
      for (const p of q.splice(0)) p.reject(e);
    }
  }

  private call(i: number, msg: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<Uint8Array | null> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.pending[i]!.push({ resolve, reject });
      this.workers[i]!.postMessage(msg, transfer);
    });
  }

  /** Builds the window table for `group` on all workers (windows split between them) and installs it on each. */
  async prepareTable(group: Group, choice: WindowChoice): Promise<void> {
    const { b, nWindows } = choice;
    const sA = group === "G1" ? G1_AFFINE : G2_AFFINE;
    const perWindow = 2 ** b * sA;
    const nw = this.workers.length;
    const parts = await Promise.all(
      this.workers.map((_, i) => {
        const w0 = Math.floor((i * nWindows) / nw);
        const w1 = Math.floor(((i + 1) * nWindows) / nw);
        return w1 > w0 ? this.call(i, { cmd: "table", group, b, w0, w1 }) : Promise.resolve(new Uint8Array(0));
      }),
    );
    const table = new Uint8Array(nWindows * perWindow);
    let off = 0;
    for (const p of parts) {
      table.set(p!, off);
      off += p!.byteLength;
    }
    await Promise.all(
      this.workers.map((_, i) => {
        const last = i === this.workers.length - 1;
        const t = last ? table : table.slice();
        return this.call(i, { cmd: "setTable", group, b, nWindows, table: t.buffer }, last ? [t.buffer as ArrayBuffer] : []);
      }),
    );
  }

  /**
   * scalars: count x 32-byte little-endian normal-form scalars. Returns count affine points in
   * Montgomery little-endian form (snarkjs's "LEM"), the zero point as all-zero bytes.
   */
  async mulAll(group: Group, scalars: Uint8Array, count: number, chunk = group === "G1" ? 4096 : 2048): Promise<Uint8Array> {
    const sA = group === "G1" ? G1_AFFINE : G2_AFFINE;
    const out = new Uint8Array(count * sA);
    let next = 0;
    const runWorker = async (i: number): Promise<void> => {
      while (next < count) {
        const start = next;
        const n = Math.min(chunk, count - start);
        next += n;
        // a copy (Buffer#slice would be a view), transferred to the worker
        const s = Uint8Array.prototype.slice.call(scalars, start * FR_BYTES, (start + n) * FR_BYTES);
        const r = await this.call(i, { cmd: "mul", group, scalars: s.buffer, count: n }, [s.buffer as ArrayBuffer]);
        out.set(r!, start * sA);
      }
    };
    await Promise.all(this.workers.map((_, i) => runWorker(i)));
    return out;
  }

  async terminate(): Promise<void> {
    this.pending.forEach((q) => q.splice(0));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
