// Minimal reader for circom's binary .r1cs format (iden3 binfile "r1cs", version 1).
// Only what a Groth16 setup needs: the header and the raw constraint section.
//
// Layout (all little-endian):
//   "r1cs" u32 version u32 nSections, then per section: u32 type, u64 size, bytes.
//   section 1 (header): u32 n8, prime (n8 bytes), u32 nWires, u32 nPubOut, u32 nPubIn, u32 nPrvIn,
//                       u64 nLabels, u32 nConstraints
//   section 2 (constraints): per constraint, for each of A, B, C: u32 nTerms, then nTerms x
//                       (u32 wireId, coefficient as n8 bytes little-endian, normal (non-Montgomery) form)
import { readFile } from "node:fs/promises";

export interface R1csFile {
  n8: number;
  prime: bigint;
  nVars: number;
  nOutputs: number;
  nPubInputs: number;
  nPrvInputs: number;
  nLabels: bigint;
  nConstraints: number;
  /** Raw bytes of section 2 (a view into the file buffer). */
  constraints: Uint8Array;
}

export interface BinSection {
  type: number;
  offset: number;
  size: number;
}

/** Parses the section table of an iden3 binfile (r1cs, zkey, ptau, wtns all share it). */
export function readBinSections(buf: Uint8Array, magic: string): BinSection[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const got = String.fromCharCode(buf[0]!, buf[1]!, buf[2]!, buf[3]!);
  if (got !== magic) throw new Error(`not a ${magic} file (magic "${got}")`);
  const nSections = dv.getUint32(8, true);
  const sections: BinSection[] = [];
  let pos = 12;
  for (let i = 0; i < nSections; i++) {
    const type = dv.getUint32(pos, true);
    const size = Number(dv.getBigUint64(pos + 4, true));
    pos += 12;
    if (pos + size > buf.byteLength) throw new Error(`${magic}: section ${type} runs past the end of the file`);
    sections.push({ type, offset: pos, size });
    pos += size;
  }
  return sections;
}

function uniqueSection(sections: BinSection[], type: number, what: string): BinSection {
  const found = sections.filter((s) => s.type === type);
  if (found.length !== 1) throw new Error(`${what}: expected exactly one section ${type}, found ${found.length}`);
  return found[0]!;
}

function readLE(buf: Uint8Array, offset: number, n: number): bigint {
  let v = 0n;
  for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(buf[offset + i]!);
  return v;
}

export function parseR1cs(buf: Uint8Array): R1csFile {
  const sections = readBinSections(buf, "r1cs");
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const h = uniqueSection(sections, 1, "r1cs header");
  let p = h.offset;
  const n8 = dv.getUint32(p, true);
  p += 4;
  const prime = readLE(buf, p, n8);
  p += n8;
  const nVars = dv.getUint32(p, true);
  const nOutputs = dv.getUint32(p + 4, true);
  const nPubInputs = dv.getUint32(p + 8, true);
  const nPrvInputs = dv.getUint32(p + 12, true);
  const nLabels = dv.getBigUint64(p + 16, true);
  const nConstraints = dv.getUint32(p + 24, true);
  const c = uniqueSection(sections, 2, "r1cs constraints");
  return {
    n8,
    prime,
    nVars,
    nOutputs,
    nPubInputs,
    nPrvInputs,
    nLabels,
    nConstraints,
    constraints: buf.subarray(c.offset, c.offset + c.size),
  };
}

export async function readR1cs(path: string): Promise<R1csFile> {
  return parseR1cs(await readFile(path));
}
