// Writer for iden3 binfiles (the container of .zkey, .r1cs, .ptau, .wtns):
//   magic (4 bytes) | u32 version | u32 nSections | { u32 type | u64 size | bytes }*
import { open, rename, rm } from "node:fs/promises";

export interface Section {
  type: number;
  parts: Uint8Array[];
}

/** Writes the file to `<path>.tmp-<pid>` then renames it over `path`, so readers never see half a file. */
export async function writeBinFile(path: string, magic: string, version: number, sections: Section[]): Promise<void> {
  if (magic.length !== 4) throw new Error("binfile magic must be 4 characters");
  const tmp = `${path}.tmp-${process.pid}`;
  const fh = await open(tmp, "w");
  try {
    const head = Buffer.alloc(12);
    head.write(magic, 0, "latin1");
    head.writeUInt32LE(version, 4);
    head.writeUInt32LE(sections.length, 8);
    await fh.write(head);
    for (const s of sections) {
      const size = s.parts.reduce((a, p) => a + p.byteLength, 0);
      const sh = Buffer.alloc(12);
      sh.writeUInt32LE(s.type, 0);
      sh.writeBigUInt64LE(BigInt(size), 4);
      await fh.write(sh);
      for (const p of s.parts) {
        let off = 0;
        while (off < p.byteLength) {
          const { bytesWritten } = await fh.write(p, off, p.byteLength - off);
          off += bytesWritten;
        }
      }
    }
    await fh.sync();
  } catch (e) {
    await fh.close();
    await rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  await rename(tmp, path);
}

export function u32LE(...values: number[]): Uint8Array {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeUInt32LE(v, 4 * i));
  return b;
}

export function u32BE(v: number): Uint8Array {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v, 0);
  return b;
}

export function bigintToLE(x: bigint, n: number): Uint8Array {
  const b = new Uint8Array(n);
  let v = x;
  for (let i = 0; i < n; i++) {
    b[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  if (v !== 0n) throw new Error("value does not fit");
  return b;
}
