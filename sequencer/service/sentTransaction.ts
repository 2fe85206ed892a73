/**
 * What became of a transaction sent before a crash or a lost connection: mined (and whether it
 * succeeded), or unknown to the node (dropped, or never left this process). A transaction still
 * waiting in the node's pool is waited for, so its outcome is never guessed.
 */
import type { Hash, PublicClient } from "viem";

export type SentOutcome = "success" | "reverted" | "unknown";

export async function sentTransactionOutcome(client: PublicClient, hash: Hash): Promise<SentOutcome> {
  const receipt = await client.getTransactionReceipt({ hash }).catch(() => null);
  if (receipt) return receipt.status === "success" ? "success" : "reverted";
  const pending = await client.getTransaction({ hash }).catch(() => null);
  if (!pending) return "unknown";
  const mined = await client.waitForTransactionReceipt({ hash });
  return mined.status === "success" ? "success" : "reverted";
}
