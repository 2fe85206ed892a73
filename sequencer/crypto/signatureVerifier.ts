/**
 * Signature verification as a service the intake can batch: the sequencer hands over every signature
 * a group of requests carries and gets one verdict per signature back. The JavaScript implementation
 * (circomlibjs, exactly the circuit's check) is the reference every faster implementation is tested
 * against.
 */
import { verifyMessage, type PublicKey, type Signature } from "./babyjub.ts";
import { poseidon } from "./poseidon.ts";

/**
 * What a signature signs: a field element, or the inputs of the Poseidon hash that is that element (every
 * protocol message is one, sequencer/protocol/messages.ts). Handing over the inputs lets a verifier hash
 * them where it verifies (the native one: off the JavaScript thread, together with the signature check).
 */
export type SignedMessage = bigint | { readonly poseidon: readonly bigint[] };

/** The field element a SignedMessage stands for. */
export function messageValue(m: SignedMessage): bigint {
  return typeof m === "bigint" ? m : poseidon(m.poseidon);
}

/** One EdDSA-Poseidon check: does `signature` sign the field element `message` under `publicKey`? */
export type SignatureCheck = { message: SignedMessage; signature: Signature; publicKey: PublicKey };

/** A check whose message is given as the field element itself. */
export type HashedSignatureCheck = SignatureCheck & { message: bigint };

export interface SignatureVerifier {
  /** A name for logs and benchmarks ("js", "native", ...). */
  readonly name: string;
  /** One verdict per check, in order; each verdict equals what `verifyMessage` says for that check. */
  verifyBatch(checks: readonly SignatureCheck[]): boolean[] | Promise<boolean[]>;
}

/** The reference: circomlibjs, one signature at a time (about 20 ms each on this machine). */
export const jsSignatureVerifier: SignatureVerifier = {
  name: "js",
  verifyBatch: (checks) => checks.map((c) => verifyMessage(messageValue(c.message), c.signature, c.publicKey)),
};
