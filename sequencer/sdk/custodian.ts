/**
 * A trader's on-chain steps with the custodian (contracts/Custodian.sol), through a viem wallet:
 * register the derived trading key (which opens the account), deposit ERC20 tokens, and claim a
 * withdrawal once the batch that carried it is posted.
 */
import { erc20Abi, type Abi, type Address, type PublicClient, type WalletClient } from "viem";
import { custodianAbi } from "../chain/abi.ts";
import type { PublicKey } from "../crypto/babyjub.ts";

export type ChainClients = { publicClient: PublicClient; walletClient: WalletClient };

async function sendTx(c: ChainClients, address: Address, abi: Abi, functionName: string, args: readonly unknown[]): Promise<void> {
  const hash = await c.walletClient.writeContract({ address, abi, functionName, args, account: c.walletClient.account!, chain: c.walletClient.chain } as never);
  const receipt = await c.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`${functionName} reverted: ${hash}`);
}

/** The account id the custodian gave `owner` (0 when it has none). */
export async function accountOf(publicClient: PublicClient, custodian: Address, owner: Address): Promise<number> {
  return Number(await publicClient.readContract({ address: custodian, abi: custodianAbi, functionName: "accountOf", args: [owner] }));
}

/** Registers the trading key for the wallet's account (creating the account); returns the account id. */
export async function registerTradingKey(c: ChainClients, custodian: Address, publicKey: PublicKey): Promise<number> {
  await sendTx(c, custodian, custodianAbi, "registerTradingKey", [...publicKey]);
  return accountOf(c.publicClient, custodian, c.walletClient.account!.address);
}

/** Approves and deposits `amount` of `token` (the custodian's token `tokenId`) into the wallet's account. */
export async function deposit(c: ChainClients, custodian: Address, token: Address, tokenId: number, amount: bigint): Promise<void> {
  await sendTx(c, token, erc20Abi, "approve", [custodian, amount]);
  await sendTx(c, custodian, custodianAbi, "deposit", [tokenId, amount]);
}

/** Claims to the wallet what proven withdrawals credited it in token `tokenId`. */
export async function claimWithdrawal(c: ChainClients, custodian: Address, tokenId: number): Promise<void> {
  await sendTx(c, custodian, custodianAbi, "withdraw", [tokenId]);
}
