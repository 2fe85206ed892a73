/**
 * Deploys the exchange (test USDC/WETH, verifier, custodian, demo market) to any running node, e.g.
 * `npx hardhat node` in another terminal, then:
 *
 *   npm run deploy -- --rpc http://127.0.0.1:8545 [--params test|production] [--key 0x...]
 *
 * Without --key it uses the node's first development account (Hardhat's well-known mnemonic).
 * Writes the addresses to .devnet/deployment.json.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { Command } from "commander";
import { createPublicClient, createWalletClient, http, type Hex, type PublicClient } from "viem";
import { mnemonicToAccount, privateKeyToAccount } from "viem/accounts";
import { buildBatchCircuit } from "../build/batchCircuit.ts";
import { PRODUCTION_PARAMS, TEST_PARAMS } from "../../sequencer/protocol/params.ts";
import { deployDemoExchange } from "./deployExchange.ts";

const opts = new Command()
  .option("--rpc <url>", "JSON-RPC URL", "http://127.0.0.1:8545")
  .option("--params <name>", "circuit parameters: test or production", "test")
  .option("--key <hex>", "deployer private key (default: the node's first development account)")
  .parse()
  .opts<{ rpc: string; params: string; key?: Hex }>();

const params = opts.params === "production" ? PRODUCTION_PARAMS : TEST_PARAMS;
const account = opts.key ? privateKeyToAccount(opts.key) : mnemonicToAccount("test test test test test test test test test test test junk");
const publicClient = createPublicClient({ transport: http(opts.rpc) }) as PublicClient;
const chain = { id: await publicClient.getChainId(), name: "target", nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [opts.rpc] } } };
const walletClient = createWalletClient({ chain, transport: http(opts.rpc), account });
console.log(`building the batch circuit (${opts.params})…`);
const circuit = await buildBatchCircuit(params);
const d = await deployDemoExchange({ publicClient, walletClient }, { params, verifierSol: circuit.verifierSol, operator: account.address });
mkdirSync(".devnet", { recursive: true });
const out = { rpc: opts.rpc, chainId: chain.id, params: opts.params, operator: account.address, ...d, circuit: circuit.dir };
writeFileSync(".devnet/deployment.json", JSON.stringify(out, null, 2));
console.log(JSON.stringify(out, null, 2));
process.exit(0);
