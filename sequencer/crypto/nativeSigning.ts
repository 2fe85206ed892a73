/**
 * EdDSA-Poseidon signing with the native addon's Baby Jubjub scalar multiplication and Poseidon: the same
 * signatures as circomlibjs's signPoseidon (babyjub.ts#signMessage), bit for bit, about two orders of
 * magnitude faster (circomlibjs spends ~20 ms per signature in its field arithmetic: two scalar
 * multiplications, one of them the public key, recomputed every time).
 *
 * The scheme, as circomlibjs defines it (docs/client.md, "Signatures"):
 *   h  = BLAKE-512(private key);  s = LE(prune(h[0..32]));  A = (s >> 3) * Base8   (once per key here)
 *   r  = LE(BLAKE-512(h[32..64] ++ le32(msg))) mod l;      R8 = r * Base8
 *   hm = Poseidon(R8.x, R8.y, A.x, A.y, msg);               S = (r + hm * s) mod l
 *
 * For load generators, market makers and benchmarks that sign many orders; the SDK keeps the portable
 * JavaScript path. nativeSigner() is null when the addon is not built.
 */
import createBlakeHash from "blake-hash";
import { bigintToLE32, isNativeAvailable, le32ToBigint, nativeAddon } from "../../fpga-prover/native/index.ts";
import { BASE8, publicKeyOf, signMessage, SUBGROUP_ORDER, type PublicKey, type Signature } from "./babyjub.ts";

/** Signs field elements (Poseidon message hashes) with one trading key. */
export type MessageSigner = { readonly publicKey: PublicKey; sign(message: bigint): Signature };

const blake512 = (data: Uint8Array): Buffer => createBlakeHash("blake512").update(Buffer.from(data)).digest();
/** A 64-byte digest read as a little-endian integer. */
const le64ToBigint = (b: Uint8Array): bigint => le32ToBigint(b, 0) | (le32ToBigint(b, 32) << 256n);
/** Base8 as the addon takes points: x then y, 32 bytes little-endian each. */
const BASE8_BYTES = Uint8Array.from([...bigintToLE32(BASE8[0]), ...bigintToLE32(BASE8[1])]);

/** A signer for `privateKey` on the native addon, or null when the addon is not built. */
export function nativeSigner(privateKey: Uint8Array): MessageSigner | null {
  if (!isNativeAvailable()) return null;
  if (privateKey.length !== 32) throw new RangeError("trading private key must be 32 bytes");
  const addon = nativeAddon();
  const h = blake512(privateKey);
  const pruned = Uint8Array.from(h.subarray(0, 32));
  pruned[0]! &= 0xf8;
  pruned[31]! &= 0x7f;
  pruned[31]! |= 0x40;
  const s = le32ToBigint(pruned);
  const publicKey = publicKeyOf(privateKey);
  const nonceInput = new Uint8Array(64);
  nonceInput.set(h.subarray(32, 64), 0);
  return {
    publicKey,
    sign(message: bigint): Signature {
      nonceInput.set(bigintToLE32(message), 32);
      const r = le64ToBigint(blake512(nonceInput)) % SUBGROUP_ORDER;
      const r8 = addon.babyJubMsm(BASE8_BYTES, bigintToLE32(r), "scalar");
      const r8x = le32ToBigint(r8, 0);
      const r8y = le32ToBigint(r8, 32);
      const hm = addon.poseidon([r8x, r8y, publicKey[0], publicKey[1], message]);
      return { r8x, r8y, s: (r + hm * s) % SUBGROUP_ORDER };
    },
  };
}

/** The native signer for `privateKey` where the addon is built, else circomlibjs's (same signatures, ~20 ms each). */
export function messageSigner(privateKey: Uint8Array): MessageSigner & { native: boolean } {
  const native = nativeSigner(privateKey);
  if (native) return { ...native, native: true };
  return { publicKey: publicKeyOf(privateKey), sign: (message) => signMessage(privateKey, message), native: false };
}
