// INSECURE development Groth16 setup: a circuit-specific key straight from fresh random toxic waste
// (what gnark's and arkworks' test setups do), written as a snarkjs-compatible .zkey.
//
// Production keys come from a powers-of-tau file plus a phase-2 ceremony (scripts/setup/ceremony.ts).
// snarkjs's own development route (powersoftau prepare phase2 + groth16 setup) takes tens of minutes
// to hours at 2^16 on this machine; this takes seconds.
//
// What is computed (bn128, domain size n = smallest power of two >= nConstraints + nPublic + 1,
// omega = ffjavascript's Fr.w[log n], g = Fr.w[log n + 1] so g^2 = omega):
//   L_j     = Lagrange basis of the n-domain at tau      = omega^j (tau^n - 1) / (n (tau - omega^j))
//   A_s     = sum_j a_sj L_j   (+ L_{nConstraints+s} for s <= nPublic: snarkjs's extra A rows that
//                                make the public inputs linearly independent)
//   B_s     = sum_j b_sj L_j,   C_s = sum_j c_sj L_j,   K_s = beta A_s + alpha B_s + C_s
//   IC_s    = K_s / gamma (s <= nPublic),   Cpriv_s = K_s / delta (s > nPublic)
//   H_k     = L'_{2k+1} / delta where L' is the Lagrange basis of the 2n-domain, i.e. the odd points
//             x_k = g omega^k: L'_{2k+1} = x_k (tau^{2n} - 1) / (2n (tau - x_k)). snarkjs's prover
//             evaluates A*B - C on exactly that coset and takes its MSM with this section.
// then all points k*G at once with a fixed-base window table on worker threads (fixedBase.ts).
//
// The .zkey layout is the one snarkjs's zkey_new.js writes, section by section and in the same order
// (1, 2, 4, 3, 9, 8, 5, 6, 7, 10): coefficient values as LE(v * R^2 mod r) with R = 2^256,
// points as affine Montgomery LE ("LEM"), the zero point as zero bytes.
// Section 10 ("mpc params") holds a csHash and zero contributions. snarkjs defines csHash as
// blake2b-512 over the initial key (built from a ptau, delta = gamma = 1); no such key exists here,
// so csHash is blake2b-512 over the same sequence for this key: the header points, then for
// IC, H, C, A, B1, B2 a big-endian u32 count followed by the points in uncompressed form
// (the H count is the domain size, where snarkjs hashes domainSize - 1 monomial-form points).
// `snarkjs zkey verify` therefore cannot (and should not) accept a dev key.
import { randomBytes, createHash } from "node:crypto";
import { performance } from "node:perf_hooks";
import { readR1cs } from "./r1cs.ts";
import { Bn128Wasm, loadBn128Engine, FR_BYTES, G1_AFFINE, G1_JACOBIAN, G2_AFFINE, G2_JACOBIAN } from "./bn128Wasm.ts";
import { FixedBasePool, chooseWindow } from "./fixedBase.ts";
import { writeBinFile, u32LE, u32BE, bigintToLE, type Section } from "./zkeyFile.ts";
import { isMainModule } from "../lib/mainModule.ts";

export const BN128_R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
export const BN128_Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;

export interface DevSetupOptions {
  r1csPath: string;
  zkeyPath: string;
  /** Progress and the INSECURE warning go here; default: stderr. */
  log?: (msg: string) => void;
  /** Worker threads for the scalar multiplications; default: os.availableParallelism(). */
  workers?: number;
}

export interface DevSetupResult {
  seconds: number;
  nConstraints: number;
  domainSize: number;
}

export const INSECURE_WARNING = [
  "WARNING: INSECURE DEVELOPMENT KEY.",
  "  The Groth16 toxic waste (tau, alpha, beta, gamma, delta) was generated in this process; whoever",
  "  read it can forge proofs for this circuit. Use this zkey and its verifier only for development",
  "  and tests, never to secure funds. Production keys: scripts/setup/ceremony.ts.",
].join("\n");

function randomFr(): bigint {
  for (;;) {
    const x = BigInt("0x" + randomBytes(48).toString("hex")) % BN128_R;
    if (x !== 0n) return x;
  }
}

/** Same rule as snarkjs zkey_new: the smallest power with 2^power > nConstraints + nPublic. */
export function domainPower(nConstraints: number, nPublic: number): number {
  let p = 1;
  while (2 ** p <= nConstraints + nPublic) p++;
  return p;
}

export async function devSetup(opts: DevSetupOptions): Promise<DevSetupResult> {
  const t0 = performance.now();
  const log = opts.log ?? ((m: string) => console.error(m));
  const lap = (what: string) => log(`[devSetup] ${what} (${((performance.now() - t0) / 1000).toFixed(2)} s)`);
  const r1cs = await readR1cs(opts.r1csPath);
  if (r1cs.n8 !== 32 || r1cs.prime !== BN128_R) throw new Error("devSetup: only bn128 r1cs files are supported");
  log(INSECURE_WARNING);
  const { nVars, nConstraints } = r1cs;
  const nPublic = r1cs.nOutputs + r1cs.nPubInputs;
  const nPrivPoints = nVars - nPublic - 1;
  if (nPrivPoints < 0) throw new Error("devSetup: malformed r1cs (more public signals than wires)");
  const power = domainPower(nConstraints, nPublic);
  const n = 2 ** power;

  const { curve, module } = await loadBn128Engine();
  if (power + 1 > curve.Fr.s) throw new Error(`devSetup: circuit too big (domain 2^${power})`);

  // Workers start on the window tables while this thread computes the scalars.
  const nG1 = n + 3 * nVars;
  const pool = await FixedBasePool.start(module, curve.tm.pG1gen, curve.tm.pG2gen, opts.workers);
  try {
    const g1Window = chooseWindow(nG1);
    const g2Window = chooseWindow(nVars);
    const tablesReady = Promise.all([pool.prepareTable("G1", g1Window), pool.prepareTable("G2", g2Window)]);
    tablesReady.catch(() => {}); // awaited below; avoid an unhandled rejection meanwhile

    const w = await Bn128Wasm.create(module);
    const ex = w.ex;

    // ---- toxic waste -------------------------------------------------------------------------
    const alpha = randomFr();
    const beta = randomFr();
    const gamma = randomFr();
    const delta = randomFr();

    // ---- allocations (all before taking views of memory.buffer) -------------------------------
    const consBytes = r1cs.constraints.byteLength;
    const pCons = w.alloc(consBytes);
    const pRoots = w.alloc(n * FR_BYTES);
    const pT1 = w.alloc(n * FR_BYTES);
    const pL = w.alloc(n * FR_BYTES);
    const pH = w.alloc(n * FR_BYTES);
    const pAccA = w.alloc(nVars * FR_BYTES);
    const pAccB = w.alloc(nVars * FR_BYTES);
    const pAccC = w.alloc(nVars * FR_BYTES);
    const fr = (): number => w.alloc(FR_BYTES);
    const pTau = fr(), pTauN = fr(), pTau2N = fr(), pAlpha = fr(), pBeta = fr(), pGammaInv = fr(), pDeltaInv = fr();
    const pOmega = fr(), pG = fr(), pOne = fr(), pX = fr(), pT = fr(), pT2 = fr(), pFactor = fr();
    const pG1a = w.alloc(G1_AFFINE), pG2a = w.alloc(G2_AFFINE);
    const pJ1 = w.alloc(G1_JACOBIAN), pJ2 = w.alloc(G2_JACOBIAN);
    w.ensureHeadroom(2 * (n + 1) * FR_BYTES + 4 * 65536);
    w.u8.fill(0, pAccA, pAccC + nVars * FR_BYTES);
    w.write(pCons, r1cs.constraints);

    const setFr = (p: number, x: bigint): void => {
      w.write(p, bigintToLE(x, FR_BYTES));
      ex.frm_toMontgomery!(p, p);
    };
    const mul = ex.frm_mul!, add = ex.frm_add!, sub = ex.frm_sub!, toMont = ex.frm_toMontgomery!;

    setFr(pAlpha, alpha);
    setFr(pBeta, beta);
    setFr(pGammaInv, gamma);
    ex.frm_inverse!(pGammaInv, pGammaInv);
    setFr(pDeltaInv, delta);
    ex.frm_inverse!(pDeltaInv, pDeltaInv);
    ex.frm_one!(pOne);
    w.write(pOmega, curve.Fr.w[power]!);
    w.write(pG, curve.Fr.w[power + 1]!);

    // roots[j] = omega^j
    ex.frm_one!(pRoots);
    for (let j = 1; j < n; j++) mul(pRoots + (j - 1) * FR_BYTES, pOmega, pRoots + j * FR_BYTES);
    mul(pRoots + (n - 1) * FR_BYTES, pOmega, pT);
    if (!ex.frm_eq!(pT, pOne)) throw new Error("devSetup: omega is not an n-th root of unity");

    // tau outside both domains: tau^(2n) != 1
    for (;;) {
      setFr(pTau, randomFr());
      ex.frm_copy!(pTau, pTauN);
      for (let i = 0; i < power; i++) ex.frm_square!(pTauN, pTauN);
      ex.frm_square!(pTauN, pTau2N);
      if (!ex.frm_eq!(pTau2N, pOne)) break;
    }

    // ---- H_k = x_k (tau^2n - 1) / (2n (tau - x_k)) / delta, x_k = g omega^k ---------------------
    for (let k = 0; k < n; k++) {
      mul(pG, pRoots + k * FR_BYTES, pH + k * FR_BYTES);
      sub(pTau, pH + k * FR_BYTES, pT1 + k * FR_BYTES);
    }
    ex.frm_batchInverse!(pT1, FR_BYTES, n, pL, FR_BYTES);
    setFr(pFactor, BigInt(2 * n));
    ex.frm_inverse!(pFactor, pFactor);
    sub(pTau2N, pOne, pT);
    mul(pFactor, pT, pFactor);
    mul(pFactor, pDeltaInv, pFactor);
    for (let k = 0; k < n; k++) {
      const p = pH + k * FR_BYTES;
      mul(p, pL + k * FR_BYTES, p);
      mul(p, pFactor, p);
    }

    // ---- L_j = omega^j (tau^n - 1) / (n (tau - omega^j)) ----------------------------------------
    for (let j = 0; j < n; j++) sub(pTau, pRoots + j * FR_BYTES, pT1 + j * FR_BYTES);
    ex.frm_batchInverse!(pT1, FR_BYTES, n, pL, FR_BYTES);
    setFr(pFactor, BigInt(n));
    ex.frm_inverse!(pFactor, pFactor);
    sub(pTauN, pOne, pT);
    mul(pFactor, pT, pFactor);
    for (let j = 0; j < n; j++) {
      const p = pL + j * FR_BYTES;
      mul(p, pRoots + j * FR_BYTES, p);
      mul(p, pFactor, p);
    }

    // ---- per-wire A, B, C at tau, and section 4 (A and B coefficients) --------------------------
    const u8 = w.u8;
    const dv = new DataView(w.memory.buffer);
    const COEF = 12 + FR_BYTES;
    const maxTerms = Math.floor(consBytes / (4 + FR_BYTES)) + nPublic + 1;
    const coefBuf = Buffer.alloc(4 + maxTerms * COEF);
    let nCoefs = 0;
    let co = 4;
    const pushCoef = (m: number, c: number, s: number, pValR2: number): void => {
      coefBuf.writeUInt32LE(m, co);
      coefBuf.writeUInt32LE(c, co + 4);
      coefBuf.writeUInt32LE(s, co + 8);
      coefBuf.set(u8.subarray(pValR2, pValR2 + FR_BYTES), co + 12);
      co += COEF;
      nCoefs++;
    };
    const accs = [pAccA, pAccB, pAccC];
    let pos = pCons;
    const end = pCons + consBytes;
    for (let c = 0; c < nConstraints; c++) {
      const pLc = pL + c * FR_BYTES;
      for (let m = 0; m < 3; m++) {
        if (pos + 4 > end) throw new Error("devSetup: truncated r1cs constraint section");
        const nTerms = dv.getUint32(pos, true);
        pos += 4;
        const pAcc = accs[m]!;
        for (let t = 0; t < nTerms; t++) {
          if (pos + 4 + FR_BYTES > end) throw new Error("devSetup: truncated r1cs constraint section");
          const s = dv.getUint32(pos, true);
          if (s >= nVars) throw new Error(`devSetup: constraint ${c} refers to wire ${s} >= nVars ${nVars}`);
          toMont(pos + 4, pT); // v (Montgomery)
          if (m < 2) {
            toMont(pT, pT2); // bytes of v*R^2 mod r, the encoding snarkjs stores
            pushCoef(m, c, s, pT2);
          }
          mul(pT, pLc, pT);
          add(pAcc + s * FR_BYTES, pT, pAcc + s * FR_BYTES);
          pos += 4 + FR_BYTES;
        }
      }
    }
    if (pos !== end) throw new Error("devSetup: trailing bytes in the r1cs constraint section");
    toMont(pOne, pT2); // R^2 mod r: the coefficient 1
    for (let s = 0; s <= nPublic; s++) {
      const row = nConstraints + s;
      add(pAccA + s * FR_BYTES, pL + row * FR_BYTES, pAccA + s * FR_BYTES);
      pushCoef(0, row, s, pT2);
    }
    coefBuf.writeUInt32LE(nCoefs, 0);
    const section4 = coefBuf.subarray(0, co);

    // K_s = beta A_s + alpha B_s + C_s, scaled by 1/gamma (public) or 1/delta (private), into accC
    for (let s = 0; s < nVars; s++) {
      const o = s * FR_BYTES;
      mul(pBeta, pAccA + o, pT);
      mul(pAlpha, pAccB + o, pT2);
      add(pT, pT2, pT);
      add(pT, pAccC + o, pT);
      mul(pT, s <= nPublic ? pGammaInv : pDeltaInv, pAccC + o);
    }
    ex.frm_batchFromMontgomery!(pAccA, nVars, pAccA);
    ex.frm_batchFromMontgomery!(pAccB, nVars, pAccB);
    ex.frm_batchFromMontgomery!(pAccC, nVars, pAccC);
    ex.frm_batchFromMontgomery!(pH, n, pH);

    // G1 scalars in section order IC | H | C | A | B1; G2: B2
    const g1Scalars = new Uint8Array(nG1 * FR_BYTES);
    let so = 0;
    const take = (p: number, count: number): void => {
      g1Scalars.set(u8.subarray(p, p + count * FR_BYTES), so);
      so += count * FR_BYTES;
    };
    take(pAccC, nPublic + 1);
    take(pH, n);
    take(pAccC + (nPublic + 1) * FR_BYTES, nPrivPoints);
    take(pAccA, nVars);
    take(pAccB, nVars);
    const g2Scalars = u8.slice(pAccB, pAccB + nVars * FR_BYTES);

    // header points (a handful: done here)
    ex.g1m_toAffine!(curve.tm.pG1gen, pG1a);
    ex.g2m_toAffine!(curve.tm.pG2gen, pG2a);
    const g1Times = (k: bigint): Uint8Array => {
      w.write(pX, bigintToLE(k, FR_BYTES));
      ex.g1m_timesScalarAffine!(pG1a, pX, FR_BYTES, pJ1);
      ex.g1m_toAffine!(pJ1, pJ1);
      return w.read(pJ1, G1_AFFINE);
    };
    const g2Times = (k: bigint): Uint8Array => {
      w.write(pX, bigintToLE(k, FR_BYTES));
      ex.g2m_timesScalarAffine!(pG2a, pX, FR_BYTES, pJ2);
      ex.g2m_toAffine!(pJ2, pJ2);
      return w.read(pJ2, G2_AFFINE);
    };
    const alpha1 = g1Times(alpha), beta1 = g1Times(beta), beta2 = g2Times(beta);
    const gamma2 = g2Times(gamma), delta1 = g1Times(delta), delta2 = g2Times(delta);
    lap(`scalars for ${nConstraints} constraints, ${nVars} wires, domain 2^${power}`);

    await tablesReady;
    lap(`window tables ready (G1 ${g1Window.b} bits, G2 ${g2Window.b} bits)`);
    const [g1Points, g2Points] = await Promise.all([pool.mulAll("G1", g1Scalars, nG1), pool.mulAll("G2", g2Scalars, nVars)]);
    lap(`${nG1} G1 and ${nVars} G2 points`);

    // ---- csHash ---------------------------------------------------------------------------------
    const hasher = createHash("blake2b512");
    const CH = 1 << 14;
    const pConv = w.alloc(CH * G2_AFFINE);
    w.ensureHeadroom(4 * 65536);
    const hashPoints = (pts: Uint8Array, sA: number, fn: string): void => {
      const cnt = pts.byteLength / sA;
      for (let i = 0; i < cnt; i += CH) {
        const k = Math.min(CH, cnt - i);
        w.write(pConv, pts.subarray(i * sA, (i + k) * sA));
        ex[fn]!(pConv, k, pConv);
        hasher.update(w.u8.subarray(pConv, pConv + k * sA));
      }
    };
    const g1U = (pts: Uint8Array) => hashPoints(pts, G1_AFFINE, "g1m_batchLEMtoU");
    const g2U = (pts: Uint8Array) => hashPoints(pts, G2_AFFINE, "g2m_batchLEMtoU");
    g1U(alpha1);
    g1U(beta1);
    g2U(beta2);
    g2U(gamma2);
    g1U(delta1);
    g2U(delta2);
    let po = 0;
    const g1Slice = (count: number): Uint8Array => {
      const s = g1Points.subarray(po, po + count * G1_AFFINE);
      po += count * G1_AFFINE;
      return s;
    };
    const IC = g1Slice(nPublic + 1);
    const H = g1Slice(n);
    const Cp = g1Slice(nPrivPoints);
    const A = g1Slice(nVars);
    const B1 = g1Slice(nVars);
    for (const [pts, count] of [
      [IC, nPublic + 1],
      [H, n],
      [Cp, nPrivPoints],
      [A, nVars],
      [B1, nVars],
    ] as const) {
      hasher.update(u32BE(count));
      g1U(pts);
    }
    hasher.update(u32BE(nVars));
    g2U(g2Points);
    const csHash = hasher.digest();

    // ---- write ----------------------------------------------------------------------------------
    const header2 = Buffer.concat([
      u32LE(32),
      bigintToLE(BN128_Q, 32),
      u32LE(32),
      bigintToLE(BN128_R, 32),
      u32LE(nVars, nPublic, n),
      alpha1,
      beta1,
      beta2,
      gamma2,
      delta1,
      delta2,
    ]);
    const sections: Section[] = [
      { type: 1, parts: [u32LE(1)] },
      { type: 2, parts: [header2] },
      { type: 4, parts: [section4] },
      { type: 3, parts: [IC] },
      { type: 9, parts: [H] },
      { type: 8, parts: [Cp] },
      { type: 5, parts: [A] },
      { type: 6, parts: [B1] },
      { type: 7, parts: [g2Points] },
      { type: 10, parts: [csHash, u32LE(0)] },
    ];
    await writeBinFile(opts.zkeyPath, "zkey", 1, sections);
    const seconds = (performance.now() - t0) / 1000;
    lap(`wrote ${opts.zkeyPath}`);
    log(`[devSetup] circuit hash (csHash of this key): ${csHash.toString("hex")}`);
    return { seconds, nConstraints, domainSize: n };
  } finally {
    await pool.terminate();
  }
}

if (isMainModule(import.meta.url)) {
  const [r1csPath, zkeyPath] = process.argv.slice(2);
  if (!r1csPath || !zkeyPath) {
    console.error("usage: npx tsx scripts/setup/devSetup.ts <circuit.r1cs> <out.zkey>");
    process.exit(2);
  }
  devSetup({ r1csPath, zkeyPath })
    .then((r) => {
      console.log(`dev setup: ${r.nConstraints} constraints, domain ${r.domainSize}, ${r.seconds.toFixed(2)} s -> ${zkeyPath}`);
      console.error(INSECURE_WARNING);
    })
    .catch((e: unknown) => {
      console.error(e);
      process.exit(1);
    });
}
