/**
 * Signature verification as a service the intake can batch: the sequencer hands over every signature
 * a group of requests carries and gets one verdict per signature back. The JavaScript implementation
 * (circomlibjs, exactly the circuit's check) is the reference every faster implementation is tested
 * against.
 */
import { verifyMessage, type PublicKey, type Signature } from "./babyjub.ts";

/** One EdDSA-Poseidon check: does `signature` sign the field element `message` under `publicKey`? */
export type SignatureCheck = { message: bigint; signature: Signature; publicKey: PublicKey };

export interface SignatureVerifier {
  /** A name for logs and benchmarks ("js", "native", ...). */
  readonly name: string;
  /** One verdict per check, in order; each verdict equals what `verifyMessage` says for that check. */
  verifyBatch(checks: readonly SignatureCheck[]): boolean[] | Promise<boolean[]>;
}

/** The reference: circomlibjs, one signature at a time (about 20 ms each on this machine). */
export const jsSignatureVerifier: SignatureVerifier = {
  name: "js",
  verifyBatch: (checks) => checks.map((c) => verifyMessage(c.message, c.signature, c.publicKey)),
};
