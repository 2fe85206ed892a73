/**
 * The oracle's side: signs price, volatility and funding-rate updates with its Baby Jubjub key
 * (circuits/DERIVATIVES.md, "Oracle update"). The devnet's oracle feeder and the tests use it.
 */
import { publicKeyOf, signMessage } from "../crypto/babyjub.ts";
import { oracleMessage, type OracleUpdate } from "../protocol/messages.ts";
import type { SignedOracleUpdate } from "./oracleStep.ts";

export function signOracleUpdate(oracleKey: Uint8Array, update: OracleUpdate): SignedOracleUpdate {
  return { ...update, key: publicKeyOf(oracleKey), signature: signMessage(oracleKey, oracleMessage(update)) };
}
