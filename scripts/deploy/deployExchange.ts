/**
 * Deploys the exchange on any chain a viem wallet reaches: the circuit's Groth16 verifier, the custodian
 * (genesis root of an empty state), and optionally test tokens. Used by the devnet, the deploy script
 * and the end-to-end tests, so all three deploy the same way.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Abi, Address, Hex, PublicClient, WalletClient } from "viem";
import { compileVerifier } from "../build/verifierContract.ts";
import { custodianAbi } from "../../sequencer/chain/abi.ts";
import type { CircuitParams } from "../../sequencer/protocol/params.ts";
import { ExchangeState } from "../../sequencer/state/exchangeState.ts";

type Artifact = { abi: Abi; bytecode: Hex };

/** A Hardhat artifact by source path and name (run `hardhat compile` first). */
export function readArtifact(source: string, name: string): Artifact {
  const path = fileURLToPath(new URL(`../../artifacts/contracts/${source}/${name}.json`, import.meta.url));
  return JSON.parse(readFileSync(path, "utf8")) as Artifact;
}

export type Clients = { publicClient: PublicClient; walletClient: WalletClient };

export async function deploy(c: Clients, artifact: Artifact, args: readonly unknown[] = []): Promise<Address> {
  const hash = await c.walletClient.deployContract({ abi: artifact.abi, bytecode: artifact.bytecode, args, account: c.walletClient.account!, chain: c.walletClient.chain });
  const receipt = await c.publicClient.waitForTransactionReceipt({ hash });
  if (!receipt.contractAddress) throw new Error(`deployment failed: ${hash}`);
  return receipt.contractAddress;
}

export async function send(c: Clients, address: Address, abi: Abi, functionName: string, args: readonly unknown[] = []): Promise<void> {
  const hash = await c.walletClient.writeContract({ address, abi, functionName, args, account: c.walletClient.account!, chain: c.walletClient.chain } as never);
  const receipt = await c.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`${functionName} reverted: ${hash}`);
}

export type ExchangeDeployment = { verifier: Address; custodian: Address; quoteToken: Address };

/** Deploys verifier + custodian. The deployer is admin; `operator` may submit batches. */
export async function deployExchange(c: Clients, opts: { params: CircuitParams; verifierSol: string; quoteToken: Address; operator: Address }): Promise<ExchangeDeployment> {
  const verifier = await deploy(c, compileVerifier(opts.verifierSol));
  const genesisRoot = new ExchangeState(opts.params).root;
  const p = opts.params;
  const custodian = await deploy(c, readArtifact("Custodian.sol", "Custodian"), [
    verifier, genesisRoot, opts.quoteToken, c.walletClient.account!.address, opts.operator,
    4 ** p.accountLevels, 4 ** p.balanceLevels, 4 ** p.marketLevels, BigInt(p.slots),
  ]);
  return { verifier, custodian, quoteToken: opts.quoteToken };
}

/** A mintable ERC20 for tests and the devnet (contracts/test/TestToken.sol). */
export async function deployTestToken(c: Clients, name: string, symbol: string, decimals: number): Promise<Address> {
  return deploy(c, readArtifact("test/TestToken.sol", "TestToken"), [name, symbol, decimals]);
}

export { custodianAbi };

/** The demo market: WETH/USDC, one lot = 0.001 WETH, one tick = 0.01 USDC per WETH. */
export const DEMO_MARKET = { baseTokenId: 1, sizeUnit: 10n ** 15n, priceUnit: 10n } as const;

export type DemoDeployment = ExchangeDeployment & { usdc: Address; weth: Address; marketId: number };

/** Test USDC (6 decimals, quote) and WETH (18 decimals), the exchange, WETH registered and the demo market queued. */
export async function deployDemoExchange(c: Clients, opts: { params: CircuitParams; verifierSol: string; operator: Address }): Promise<DemoDeployment> {
  const usdc = await deployTestToken(c, "USD Coin (test)", "USDC", 6);
  const weth = await deployTestToken(c, "Wrapped Ether (test)", "WETH", 18);
  const exchange = await deployExchange(c, { ...opts, quoteToken: usdc });
  await send(c, exchange.custodian, custodianAbi, "registerToken", [weth]);
  await send(c, exchange.custodian, custodianAbi, "registerMarket", [DEMO_MARKET.baseTokenId, DEMO_MARKET.sizeUnit, DEMO_MARKET.priceUnit]);
  return { ...exchange, usdc, weth, marketId: 0 };
}
