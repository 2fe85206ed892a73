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
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { realpathSync } from "node:fs";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { loadSnarkjs, terminateSnarkjsCurve, type SnarkjsLogger, type VerificationKey } from "./zkLibs.ts";

export interface CeremonyOptions {
  /** Powers of tau prepared for phase 2 (`snarkjs powersoftau prepare phase2`), 2^power >= 2 * domain. */
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

function isMain(): boolean {
  const arg = process.argv[1];
  if (!arg) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(arg)).href;
  } catch {
    return false;
  }
}

if (isMain()) {
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
