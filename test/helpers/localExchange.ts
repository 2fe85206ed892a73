/**
 * A local Hardhat node with the demo exchange deployed on it (the custodian with its test tokens and the
 * batch circuit's verifier), and clients for the development accounts: the start of the end-to-end tests
 * that run the sequencer process against a real chain.
 */
import { createPublicClient, createWalletClient, erc20Abi, http, toHex, type PublicClient, type WalletClient } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { hardhat } from "viem/chains";
import { deployDemoExchange, readArtifact, send, type Clients, type DemoDeployment } from "../../scripts/deploy/deployExchange.ts";
import { startHardhatNode, type LocalNode } from "../../scripts/devnet/localNode.ts";
import { custodianAbi } from "../../sequencer/chain/abi.ts";
import { TEST_PARAMS } from "../../sequencer/protocol/params.ts";
import { accountOf } from "../../sequencer/sdk/custodian.ts";
import { testTrader, type TestTrader } from "./traders.ts";
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

/**
 * Starts a Hardhat node on a free port and deploys the demo exchange at TEST_PARAMS with `verifierSol` and the exit
 * circuit's verifier generated from `exitVerifierSol`; without it, a custodian that refuses every exit (tests that
 * never exit). With `markingVerifierSol`, a marks registry in front of the marking circuit's verifier (tests whose batches
 * read option marks); without it, none (a batch that reads marks is refused).
 */
export async function startLocalExchange(verifierSol: string, exitVerifierSol?: string, markingVerifierSol?: string): Promise<LocalExchange> {
  const node = await startHardhatNode(await freePort());
  const publicClient = createPublicClient({ chain: hardhat, transport: http(node.url) }) as PublicClient;
  const wallet = (i: number): WalletClient => createWalletClient({ chain: hardhat, transport: http(node.url), account: mnemonicToAccount(DEV_MNEMONIC, { addressIndex: i }) });
  const operator = wallet(0);
  const operatorKey = toHex(mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 0 }).getHdKey().privateKey!);
  const as = (w: WalletClient): Clients => ({ publicClient, walletClient: w });
  const exit = exitVerifierSol === undefined ? { refuseExits: true as const } : { exitVerifierSol };
  const deployment = await deployDemoExchange(as(operator), { params: TEST_PARAMS, verifierSol, markingVerifierSol, operator: operator.account!.address, ...exit });
  return { node, publicClient, wallet, operator, operatorKey, as, deployment };
}

/**
 * Development wallet `i` registers test trader `i`'s trading key on the custodian and deposits `amounts`
 * (token id to amount; the operator mints them first). Returns the trader with its account id and wallet.
 */
export async function fundTrader(local: LocalExchange, i: number, amounts: readonly (readonly [tokenId: 0 | 1, amount: bigint])[]): Promise<TestTrader & { wallet: WalletClient }> {
  const { as, operator, publicClient, deployment: d } = local;
  const w = local.wallet(i);
  const key = testTrader(i);
  const token = readArtifact("test/TestToken.sol", "TestToken");
  await send(as(w), d.custodian, custodianAbi, "registerTradingKey", [...key.pubKey]);
  for (const [tokenId, amount] of amounts) {
    if (amount === 0n) continue;
    const address = tokenId === 0 ? d.usdc : d.weth;
    await send(as(operator), address, token.abi, "mint", [w.account!.address, amount]);
    await send(as(w), address, erc20Abi, "approve", [d.custodian, amount]);
    await send(as(w), d.custodian, custodianAbi, "deposit", [tokenId, amount]);
  }
  return { ...key, accountId: await accountOf(publicClient, d.custodian, w.account!.address), wallet: w };
}
