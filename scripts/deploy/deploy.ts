/**
 * Deploys the exchange (test USDC/WETH, verifier, custodian, demo market) to any running node, e.g.
 * `npx hardhat node` in another terminal, then:
 *
 *   npm run deploy -- --rpc http://127.0.0.1:8545 [--params test|devnet|production] [--key 0x...] [--verifier V.sol --exit-verifier E.sol --marking-verifier M.sol]
 *
 * --verifier, --exit-verifier and --marking-verifier are the snarkjs verifier sources of the batch, exit and marking
 * circuits under the operator's keys (production: from the phase-2 ceremony); the custodian's verifiers and the
 * marks registry's are generated from them (scripts/build/batchVerifierContract.ts). They go together
 * (verifierSources.ts): without them, every circuit is built here with INSECURE dev keys (a local chain only).
 * Without --key it uses the node's first development account (Hardhat's well-known mnemonic).
 * Writes the addresses to .devnet/deployment.json.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { Command } from "commander";
import { createPublicClient, createWalletClient, http, type Hex, type PublicClient } from "viem";
import { mnemonicToAccount, privateKeyToAccount } from "viem/accounts";
import { buildBatchCircuit } from "../build/batchCircuit.ts";
import { buildExitCircuit } from "../build/exitCircuit.ts";
import { buildMarkingCircuit } from "../build/markingCircuit.ts";
import { PARAMS_NAMES, PARAMS_SETS, type ParamsName } from "../../sequencer/protocol/params.ts";
import { deployDemoExchange } from "./deployExchange.ts";
import { verifierSources } from "./verifierSources.ts";

const opts = new Command()
  .option("--rpc <url>", "JSON-RPC URL", "http://127.0.0.1:8545")
  .option("--params <name>", `circuit parameters: ${PARAMS_NAMES.join(", ")}`, "test")
  .option("--key <hex>", "deployer private key (default: the node's first development account)")
  .option("--verifier <path>", "the batch circuit's snarkjs verifier source (with --exit-verifier and --marking-verifier; default: build every circuit with INSECURE dev keys)")
  .option("--exit-verifier <path>", "the exit circuit's snarkjs verifier source (with --verifier)")
  .option("--marking-verifier <path>", "the marking circuit's snarkjs verifier source (with --verifier)")
  .parse()
  .opts<{ rpc: string; params: string; key?: Hex; verifier?: string; exitVerifier?: string; markingVerifier?: string }>();

const params = PARAMS_SETS[opts.params as ParamsName];
if (!params) throw new Error(`--params ${opts.params}: one of ${PARAMS_NAMES.join(", ")}`);
const account = opts.key ? privateKeyToAccount(opts.key) : mnemonicToAccount("test test test test test test test test test test test junk");
const publicClient = createPublicClient({ transport: http(opts.rpc) }) as PublicClient;
const chain = { id: await publicClient.getChainId(), name: "target", nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [opts.rpc] } } };
const walletClient = createWalletClient({ chain, transport: http(opts.rpc), account });
const sources = verifierSources(opts);
let verifierSol: string, exitVerifierSol: string, markingVerifierSol: string;
let circuitDir: string | undefined;
if (sources === "dev") {
  console.log(`no --verifier / --exit-verifier / --marking-verifier: building the batch, exit and marking circuits (${opts.params}) with INSECURE dev keys…`);
  const circuit = await buildBatchCircuit(params);
  [verifierSol, circuitDir] = [circuit.verifierSol, circuit.dir];
  exitVerifierSol = (await buildExitCircuit(params)).verifierSol;
  markingVerifierSol = (await buildMarkingCircuit(params)).verifierSol;
} else {
  [verifierSol, exitVerifierSol, markingVerifierSol] = [sources.batch, sources.exit, sources.marking];
}
const d = await deployDemoExchange({ publicClient, walletClient }, { params, verifierSol, exitVerifierSol, markingVerifierSol, operator: account.address });
mkdirSync(".devnet", { recursive: true });
const out = {
  rpc: opts.rpc, chainId: chain.id, params: opts.params, operator: account.address, ...d, verifierSource: verifierSol, exitVerifierSource: exitVerifierSol, markingVerifierSource: markingVerifierSol,
  ...(circuitDir && { circuit: circuitDir }),
};
writeFileSync(".devnet/deployment.json", JSON.stringify(out, null, 2));
console.log(JSON.stringify(out, null, 2));
process.exit(0);
