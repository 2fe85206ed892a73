/** The browser's node:crypto, as far as the shared modules use it: createHash("sha256") (viem's sha256). */
import { Buffer } from "buffer";
import { bytesToHex, concatBytes, sha256 } from "viem";

export function createHash(algorithm: string) {
  if (algorithm !== "sha256") throw new Error(`createHash(${algorithm}): only sha256 in the browser`);
  const parts: Uint8Array[] = [];
  const self = {
    update(data: Uint8Array | string) {
      parts.push(typeof data === "string" ? new TextEncoder().encode(data) : data);
      return self;
    },
    digest(encoding?: "hex"): any {
      const out = sha256(concatBytes(parts), "bytes");
      return encoding === "hex" ? bytesToHex(out).slice(2) : Buffer.from(out); // a Buffer, as Node's
    },
  };
  return self;
}

export function randomBytes(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}
