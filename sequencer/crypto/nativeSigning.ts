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
import { isNativeAvailable, nativeAddon } from "../../fpga-prover/native/index.ts";
import { publicKeyOf, signMessage, type PublicKey, type Signature } from "./babyjub.ts";

/** Order of Baby Jubjub's prime-order subgroup (circomlibjs babyJub.subOrder). */
const SUB_ORDER = 2736030358979909402780800718157159386076813972158567259200215660948447373041n;
/** circomlibjs's Base8 (the generator of the prime-order subgroup every key and R8 is a multiple of). */
const BASE8: PublicKey = [
  5299619240641551281634865583518297030282874472190772894086521144482721001553n,
  16950150798460657717958625567821834550301663161624707787222815936182638968203n,
];

/** Signs field elements (Poseidon message hashes) with one trading key. */
export type MessageSigner = { readonly publicKey: PublicKey; sign(message: bigint): Signature };

function le(x: bigint, bytes: number, out = new Uint8Array(bytes), offset = 0): Uint8Array {
  for (let i = 0; i < bytes; i++, x >>= 8n) out[offset + i] = Number(x & 0xffn);
  return out;
}

function leInt(b: Uint8Array): bigint {
  let x = 0n;
  for (let i = b.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(b[i]!);
  return x;
}

const blake512 = (data: Uint8Array): Buffer => createBlakeHash("blake512").update(Buffer.from(data)).digest();

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
  const s = leInt(pruned);
  const publicKey = publicKeyOf(privateKey);
  const base = new Uint8Array(64);
  le(BASE8[0], 32, base, 0);
  le(BASE8[1], 32, base, 32);
  const nonceInput = new Uint8Array(64);
  nonceInput.set(h.subarray(32, 64), 0);
  return {
    publicKey,
    sign(message: bigint): Signature {
      le(message, 32, nonceInput, 32);
      const r = leInt(blake512(nonceInput)) % SUB_ORDER;
      const r8 = addon.babyJubMsm(base, le(r, 32), "scalar");
      const r8x = leInt(r8.subarray(0, 32));
      const r8y = leInt(r8.subarray(32, 64));
      const hm = addon.poseidon([r8x, r8y, publicKey[0], publicKey[1], message]);
      return { r8x, r8y, s: (r + hm * s) % SUB_ORDER };
    },
  };
}

/** The native signer for `privateKey` where the addon is built, else circomlibjs's (same signatures, ~20 ms each). */
export function messageSigner(privateKey: Uint8Array): MessageSigner & { native: boolean } {
  const native = nativeSigner(privateKey);
  if (native) return { ...native, native: true };
  return { publicKey: publicKeyOf(privateKey), sign: (message) => signMessage(privateKey, message), native: false };
}
