/**
 * A local Hardhat node with the demo exchange deployed on it (the custodian with its test tokens and the
 * batch circuit's verifier), and clients for the development accounts: the start of the end-to-end tests
 * that run the sequencer process against a real chain.
 */
import { createPublicClient, createWalletClient, http, toHex, type PublicClient, type WalletClient } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { hardhat } from "viem/chains";
import { deployDemoExchange, type Clients, type DemoDeployment } from "../../scripts/deploy/deployExchange.ts";
import { startHardhatNode, type LocalNode } from "../../scripts/devnet/localNode.ts";
import { TEST_PARAMS } from "../../sequencer/protocol/params.ts";
import { freePort } from "./sequencerProcess.ts";

/** Hardhat's well-known development mnemonic. */
export const DEV_MNEMONIC = "test test test test test test test test test test test junk";

export type LocalExchange = {
  node: LocalNode;
  publicClient: PublicClient;
  /** The wallet of development account `i` (0 is the operator). */
  wallet: (i: number) => WalletClient;
  operator: WalletClient;
  /** The operator's private key, for the sequencer process. */
  operatorKey: string;
  /** The clients that send as wallet `w`. */
  as: (w: WalletClient) => Clients;
  deployment: DemoDeployment;
};

/** Starts a Hardhat node on a free port and deploys the demo exchange at TEST_PARAMS with `verifierSol` (and the exit circuit's verifier, `exitVerifierSol`, when given). */
export async function startLocalExchange(verifierSol: string, exitVerifierSol?: string): Promise<LocalExchange> {
  const node = await startHardhatNode(await freePort());
  const publicClient = createPublicClient({ chain: hardhat, transport: http(node.url) }) as PublicClient;
  const wallet = (i: number): WalletClient => createWalletClient({ chain: hardhat, transport: http(node.url), account: mnemonicToAccount(DEV_MNEMONIC, { addressIndex: i }) });
  const operator = wallet(0);
  const operatorKey = toHex(mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 0 }).getHdKey().privateKey!);
  const as = (w: WalletClient): Clients => ({ publicClient, walletClient: w });
  const deployment = await deployDemoExchange(as(operator), { params: TEST_PARAMS, verifierSol, exitVerifierSol, operator: operator.account!.address });
  return { node, publicClient, wallet, operator, operatorKey, as, deployment };
}
