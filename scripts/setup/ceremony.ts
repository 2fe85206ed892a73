// Production Groth16 keys: snarkjs's phase-2 ceremony on top of a (public, prepared) powers-of-tau file.
//
//   zkey new (r1cs + ptau) -> N contributions with fresh random entropy -> random beacon
//   -> zkey verify against the r1cs and the ptau -> verification key JSON.
//
// Run on one machine this is a simulation of a ceremony (all contributions come from this process);
// its value is the reproducible procedure and the transcript. A real ceremony runs the same
// snarkjs steps (`snarkjs zkey contribute`) on the participants' machines and finishes with
// `beacon` and `verify`, which is what this script checks.
//
// CLI:
//   npx tsx scripts/setup/ceremony.ts <prepared.ptau> <circuit.r1cs> <out.zkey> <out.vkey.json> \
//       <contributions> <beaconHex> [beaconIterationsExp=10]
import { randomBytes } from "node:crypto";
import { mkdtemp, open, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { domainPower } from "./devSetup.ts";
import { readR1cs } from "./r1cs.ts";
import { loadSnarkjs, terminateSnarkjsCurve, type SnarkjsLogger, type VerificationKey } from "./zkLibs.ts";
import { isMainModule } from "../lib/mainModule.ts";

export interface CeremonyOptions {
  /** Powers of tau prepared for phase 2 (`snarkjs powersoftau prepare phase2`), power >= log2(domain) + 1. */
  ptau: string;
  r1cs: string;
  zkeyPath: string;
  vkeyPath: string;
  /** Number of simulated contributions (>= 1), each with 32 bytes of fresh entropy. */
  contributions: number;
  /** Public randomness for the final beacon, hex (e.g. a future block hash fixed in advance). */
  beaconHex: string;
  /** The beacon hashes 2^beaconIterationsExp times (snarkjs's numIterationsExp, 10..63). Default 10. */
  beaconIterationsExp?: number;
  /** Contributor names recorded in the zkey; default "contribution <i>". */
  names?: string[];
  log?: (msg: string) => void;
}

export interface ContributionRecord {
  name: string;
  /** blake2b-512 contribution hash as snarkjs prints it (hex). */
  hash: string;
}

export interface CeremonyResult {
  zkeyPath: string;
  vkeyPath: string;
  /** Circuit hash (csHash) of the initial zkey, hex. */
  circuitHash: string;
  contributions: ContributionRecord[];
  beacon: ContributionRecord;
  vkey: VerificationKey;
  seconds: number;
}

export interface PtauInfo {
  power: number;
  ceremonyPower: number;
  /** Has the Lagrange sections (12..15) that `powersoftau prepare phase2` adds. */
  prepared: boolean;
}

/** Reads a .ptau's header and section table without loading the (possibly multi-GB) file. */
export async function readPtauInfo(path: string): Promise<PtauInfo> {
  const fh = await open(path, "r");
  try {
    const head = Buffer.alloc(12);
    await fh.read(head, 0, 12, 0);
    if (head.toString("latin1", 0, 4) !== "ptau") throw new Error(`${path}: not a ptau file`);
    const nSections = head.readUInt32LE(8);
    const types = new Map<number, number>(); // type -> data offset
    let pos = 12;
    const sh = Buffer.alloc(12);
    for (let i = 0; i < nSections; i++) {
      const { bytesRead } = await fh.read(sh, 0, 12, pos);
      if (bytesRead !== 12) throw new Error(`${path}: truncated section table`);
      types.set(sh.readUInt32LE(0), pos + 12);
      pos += 12 + Number(sh.readBigUInt64LE(4));
    }
    const h = types.get(1);
    if (h === undefined) throw new Error(`${path}: no header section`);
    const hb = Buffer.alloc(4 + 32 + 8);
    await fh.read(hb, 0, hb.byteLength, h);
    const n8 = hb.readUInt32LE(0);
    if (n8 !== 32) throw new Error(`${path}: not a bn128 ptau`);
    return { power: hb.readUInt32LE(36), ceremonyPower: hb.readUInt32LE(40), prepared: types.has(12) };
  } finally {
    await fh.close();
  }
}

function toHex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}

/** snarkjs's layout for a 64-byte hash: four lines of four 32-bit words. */
export function formatHash(hex: string): string {
  const words = hex.match(/.{8}/g) ?? [];
  const lines: string[] = [];
  for (let i = 0; i < words.length; i += 4) lines.push("\t\t" + words.slice(i, i + 4).join(" "));
  return lines.join("\n");
}

export async function runCeremony(opts: CeremonyOptions): Promise<CeremonyResult> {
  const t0 = performance.now();
  const log = opts.log ?? ((m: string) => console.error(m));
  const iterationsExp = opts.beaconIterationsExp ?? 10;
  if (!Number.isInteger(opts.contributions) || opts.contributions < 1) throw new Error("ceremony: contributions must be an integer >= 1");
  if (!/^([0-9a-fA-F]{2}){1,255}$/.test(opts.beaconHex)) throw new Error("ceremony: beacon must be 1..255 bytes of hex");
  if (!Number.isInteger(iterationsExp) || iterationsExp < 10 || iterationsExp > 63) {
    throw new Error("ceremony: beaconIterationsExp must be an integer in 10..63");
  }

  // snarkjs's zkey new takes the H points from the 2n-domain Lagrange basis, so the ptau needs
  // power >= log2(domain) + 1. It only refuses power < log2(domain); at power == log2(domain) it
  // silently writes a wrong H section that only `zkey verify` detects (after all the contributions).
  const ptauInfo = await readPtauInfo(opts.ptau);
  if (!ptauInfo.prepared) throw new Error(`ceremony: ${opts.ptau} is not prepared for phase 2 (snarkjs powersoftau prepare phase2)`);
  const r1csHeader = await readR1cs(opts.r1cs);
  const cirPower = domainPower(r1csHeader.nConstraints, r1csHeader.nOutputs + r1csHeader.nPubInputs);
  if (ptauInfo.power < cirPower + 1) {
    throw new Error(`ceremony: the circuit's domain is 2^${cirPower}, it needs a ptau of power >= ${cirPower + 1} (got ${ptauInfo.power})`);
  }

  const snarkjs = await loadSnarkjs();
  const errors: string[] = [];
  const logger: SnarkjsLogger = {
    debug: () => {},
    info: (m) => log(`[snarkjs] ${m}`),
    warn: (m) => log(`[snarkjs] WARNING ${m}`),
    error: (m) => {
      errors.push(m);
      log(`[snarkjs] ERROR ${m}`);
    },
  };
  const fail: (what: string) => never = (what) => {
    throw new Error(`ceremony: ${what} failed${errors.length ? `: ${errors.join("; ")}` : ""}`);
  };

  const work = await mkdtemp(join(dirname(opts.zkeyPath), ".ceremony-"));
  try {
    const z0 = join(work, "c0.zkey");
    const csHash = await snarkjs.zKey.newZKey(opts.r1cs, opts.ptau, z0, logger);
    if (!(csHash instanceof Uint8Array)) return fail("zkey new");
    const circuitHash = toHex(csHash);
    log(`Circuit hash:\n${formatHash(circuitHash)}`);

    const contributions: ContributionRecord[] = [];
    let prev = z0;
    for (let i = 1; i <= opts.contributions; i++) {
      const name = opts.names?.[i - 1] ?? `contribution ${i}`;
      const next = join(work, `c${i}.zkey`);
      const entropy = randomBytes(32).toString("hex");
      const h = await snarkjs.zKey.contribute(prev, next, name, entropy, logger);
      if (!(h instanceof Uint8Array)) fail(`contribution ${i}`);
      const rec = { name, hash: toHex(h) };
      contributions.push(rec);
      log(`Contribution ${i} (${name}) hash:\n${formatHash(rec.hash)}`);
      if (prev !== z0) await rm(prev, { force: true });
      prev = next;
    }

    const finalTmp = join(work, "final.zkey");
    const bh = await snarkjs.zKey.beacon(prev, finalTmp, "final beacon", opts.beaconHex, iterationsExp, logger);
    if (!(bh instanceof Uint8Array)) return fail("beacon");
    const beacon = { name: "final beacon", hash: toHex(bh) };
    log(`Beacon (2^${iterationsExp} iterations of ${opts.beaconHex}) hash:\n${formatHash(beacon.hash)}`);

    const ok = await snarkjs.zKey.verifyFromR1cs(opts.r1cs, opts.ptau, finalTmp, logger);
    if (ok !== true) fail("zkey verify against the r1cs and the ptau");
    log("zkey verify: OK");

    const vkey = await snarkjs.zKey.exportVerificationKey(finalTmp);
    const vkeyTmp = join(work, "vkey.json");
    await writeFile(vkeyTmp, JSON.stringify(vkey, null, 1));
    await rename(finalTmp, opts.zkeyPath);
    await rename(vkeyTmp, opts.vkeyPath);
    return {
      zkeyPath: opts.zkeyPath,
      vkeyPath: opts.vkeyPath,
      circuitHash,
      contributions,
      beacon,
      vkey,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (isMainModule(import.meta.url)) {
  const [ptau, r1cs, zkeyPath, vkeyPath, n, beaconHex, iters] = process.argv.slice(2);
  if (!ptau || !r1cs || !zkeyPath || !vkeyPath || !n || !beaconHex) {
    console.error(
      "usage: npx tsx scripts/setup/ceremony.ts <prepared.ptau> <circuit.r1cs> <out.zkey> <out.vkey.json> <contributions> <beaconHex> [beaconIterationsExp=10]",
    );
    process.exit(2);
  }
  runCeremony({
    ptau,
    r1cs,
    zkeyPath,
    vkeyPath,
    contributions: Number(n),
    beaconHex,
    beaconIterationsExp: iters === undefined ? undefined : Number(iters),
  })
    .then(async (r) => {
      console.log(`ceremony done in ${r.seconds.toFixed(1)} s: ${r.zkeyPath}, ${r.vkeyPath}`);
      r.contributions.forEach((c, i) => console.log(`contribution ${i + 1} (${c.name}): ${c.hash}`));
      console.log(`beacon: ${r.beacon.hash}`);
      await terminateSnarkjsCurve();
    })
    .catch(async (e: unknown) => {
      console.error(e);
      await terminateSnarkjsCurve();
      process.exit(1);
    });
}
