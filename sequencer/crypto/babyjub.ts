/**
 * Baby Jubjub trading keys and EdDSA-Poseidon signatures (circomlib's scheme, verified in-circuit by
 * EdDSAPoseidonVerifier). A private key is 32 bytes; the public key is a curve point (x, y).
 */
import { buildBabyjub, buildEddsa } from "circomlibjs";
import { FIELD_MODULUS } from "./field.ts";

const eddsa = await buildEddsa();
const F = eddsa.babyJub.F;
const babyJub = await buildBabyjub();

export type PublicKey = readonly [x: bigint, y: bigint];
export type Signature = { r8x: bigint; r8y: bigint; s: bigint };

/** The order l of Baby Jubjub's prime-order subgroup, which Base8 generates. */
export const SUBGROUP_ORDER: bigint = eddsa.babyJub.subOrder;
/** circomlib's Base8: every key and every signature's R8 is a multiple of it. */
export const BASE8: PublicKey = [F.toObject(eddsa.babyJub.Base8[0]), F.toObject(eddsa.babyJub.Base8[1])];

export function publicKeyOf(privateKey: Uint8Array): PublicKey {
  if (privateKey.length !== 32) throw new RangeError("trading private key must be 32 bytes");
  const [x, y] = eddsa.prv2pub(privateKey);
  return [F.toObject(x), F.toObject(y)];
}

/** Signs a field element (a Poseidon message hash). Deterministic for a given key and message. */
export function signMessage(privateKey: Uint8Array, message: bigint): Signature {
  const sig = eddsa.signPoseidon(privateKey, F.e(message));
  return { r8x: F.toObject(sig.R8[0]), r8y: F.toObject(sig.R8[1]), s: sig.S };
}

/** Verifies a signature exactly as the circuit does (reference JavaScript implementation). */
export function verifyMessage(message: bigint, sig: Signature, pub: PublicKey): boolean {
  if (sig.s >= eddsa.babyJub.subOrder) return false;
  try {
    return eddsa.verifyPoseidon(F.e(message), { R8: [F.e(sig.r8x), F.e(sig.r8y)], S: sig.s }, [F.e(pub[0]), F.e(pub[1])]);
  } catch {
    return false;
  }
}

/** The compressed key carried in public data: y | signX << 255, signX = 1 iff x > (p-1)/2. */
export function compressPublicKey([x, y]: PublicKey): bigint {
  const sign = x > (FIELD_MODULUS - 1n) / 2n ? 1n : 0n;
  return y | (sign << 255n);
}

/** Inverse of compressPublicKey: y | signX << 255 back to (x, y). circomlibjs packs the same sign bit, little-endian. */
export function decompressPublicKey(compressed: bigint): PublicKey {
  const le = new Uint8Array(32);
  let v = compressed;
  for (let i = 0; i < 32; i++) {
    le[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  const point = babyJub.unpackPoint(le);
  if (!point) throw new Error("compressed key is not a Baby Jubjub point");
  return [babyJub.F.toObject(point[0]), babyJub.F.toObject(point[1])];
}

/**
 * Why (x, y) cannot be a trading or oracle key, or null when it can: the one rule for keys, used by the
 * witness builder (REGISTER_KEY, the oracle step) and so by intake. A key has canonical coordinates
 * (< p), lies on Baby Jubjub (the circuit proves it: circuits/SPEC.md "Keys"), and lies in its prime-order
 * subgroup without being the identity, as the custodian requires at registration: a low-order key (8A
 * the identity) could never sign (the circuit's verifier refuses x(4A) = 0), and a mixed-order one
 * verifies as its subgroup part.
 */
export function publicKeyFault([x, y]: PublicKey): string | null {
  if (x >= FIELD_MODULUS || y >= FIELD_MODULUS || x < 0n || y < 0n) return "not in canonical form (a coordinate is not in [0, p))";
  const p: [Uint8Array, Uint8Array] = [babyJub.F.e(x), babyJub.F.e(y)];
  if (!babyJub.inCurve(p)) return "not on Baby Jubjub";
  if (!babyJub.inSubgroup(p)) {
    const smallOrder = babyJub.F.toObject(babyJub.mulPointEscalar(p, 8n)[0]) === 0n;
    return smallOrder ? "of small order (8A is the identity): it could sign nothing" : "not in Baby Jubjub's prime-order subgroup (mixed order)";
  }
  if (x === 0n) return "the identity";
  return null;
}

/** True when (x, y) is a valid key: see publicKeyFault. */
export function isValidPublicKey(key: PublicKey): boolean {
  return publicKeyFault(key) === null;
}
