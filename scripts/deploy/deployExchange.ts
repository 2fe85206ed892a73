/**
 * Deploys the exchange on any chain a viem wallet reaches: the circuit's Groth16 verifier, the marks registry in front
 * of the marking circuit's verifier (when its verifier is given), the admin timelock
 * (AdminTimelock, OpenZeppelin's TimelockController with a floor, delay = request deadline + 1 day), the custodian's linked libraries
 * (CUSTODIAN_LIBRARIES) and the custodian (genesis root of an empty state, sizes from the circuit parameters, the
 * exit verifier, the timelock and the treasury), and optionally test tokens; and
 * the admin's derivatives set-up (oracle key, instruments). Used by the devnet, the deploy script and the
 * end-to-end tests, so all three deploy the same way.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseEventLogs, zeroAddress, type Abi, type Address, type Hex, type PublicClient, type TransactionReceipt, type WalletClient } from "viem";
import { compileBatchVerifier, verifierInputCount } from "../build/batchVerifierContract.ts";
import { exitPublicInputCount } from "../../sequencer/protocol/exitPublicData.ts";
import { publicInputCount } from "../../sequencer/protocol/publicData.ts";
import { custodianAbi } from "../../sequencer/chain/abi.ts";
import { MARKING_PUBLIC_INPUTS } from "../../sequencer/chain/marksRegistry.ts";
import { CUSTODIAN_LIBRARIES, custodianArgs, DEFAULT_REQUEST_DEADLINE } from "../../sequencer/chain/custodianArgs.ts";
import type { PublicKey } from "../../sequencer/crypto/babyjub.ts";
import { InstrumentKind } from "../../sequencer/protocol/constants.ts";
import { publicDataBytes, type CircuitParams } from "../../sequencer/protocol/params.ts";
import { ExchangeState } from "../../sequencer/state/exchangeState.ts";

type LinkReferences = Record<string, Record<string, readonly { start: number; length: number }[]>>;
type Artifact = { abi: Abi; bytecode: Hex; linkReferences?: LinkReferences };

/** A Hardhat artifact by source path and name (run `hardhat compile` first). */
export function readArtifact(source: string, name: string): Artifact {
  const path = fileURLToPath(new URL(`../../artifacts/contracts/${source}/${name}.json`, import.meta.url));
  return JSON.parse(readFileSync(path, "utf8")) as Artifact;
}

/**
 * The artifact's creation bytecode with every library it links replaced by its address in `libraries` (by
 * library name); throws if one is missing. Solidity leaves a placeholder where an external library's address
 * goes (the artifact's linkReferences give its byte offsets).
 */
export function linkBytecode(artifact: Artifact, libraries: Readonly<Record<string, Address>>): Hex {
  let code = artifact.bytecode.slice(2);
  for (const refs of Object.values(artifact.linkReferences ?? {})) {
    for (const [name, offsets] of Object.entries(refs)) {
      const address = libraries[name];
      if (address === undefined) throw new Error(`library ${name} is not deployed`);
      for (const { start, length } of offsets) {
        code = code.slice(0, 2 * start) + address.slice(2).toLowerCase().padStart(2 * length, "0") + code.slice(2 * (start + length));
      }
    }
  }
  return `0x${code}`;
}

export type Clients = { publicClient: PublicClient; walletClient: WalletClient };

export async function deploy(c: Clients, artifact: Artifact, args: readonly unknown[] = []): Promise<Address> {
  const hash = await c.walletClient.deployContract({ abi: artifact.abi, bytecode: artifact.bytecode, args, account: c.walletClient.account!, chain: c.walletClient.chain });
  const receipt = await c.publicClient.waitForTransactionReceipt({ hash });
  if (!receipt.contractAddress) throw new Error(`deployment failed: ${hash}`);
  return receipt.contractAddress;
}

/** Sends a transaction from the wallet and waits for it; throws if it reverts. */
export async function send(c: Clients, address: Address, abi: Abi, functionName: string, args: readonly unknown[] = []): Promise<TransactionReceipt> {
  const hash = await c.walletClient.writeContract({ address, abi, functionName, args, account: c.walletClient.account!, chain: c.walletClient.chain } as never);
  const receipt = await c.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`${functionName} reverted: ${hash}`);
  return receipt;
}

/**
 * What deployExchange deployed: `marksRegistry` is the registry of marking proofs the custodian reads (the zero address
 * when none was deployed: the custodian then takes no batch that reads marks).
 */
export type ExchangeDeployment = { verifier: Address; custodian: Address; quoteToken: Address; exitVerifier: Address; timelock: Address; marksRegistry: Address };


/** How much longer than the request deadline the admin timelock's delay is (Custodian requires it longer). */
export const TIMELOCK_MARGIN_SECONDS = 24 * 3600;

/**
 * Deploys the admin timelock (contracts/governance/AdminTimelock.sol, OpenZeppelin's TimelockController that keeps a
 * holder of each role and its delay within [minDelay, MAX_DELAY]) with `minDelay` seconds (also its floor), the
 * wallet as its only proposer and executor, and no admin besides itself (AdminTimelock refuses one).
 */
export async function deployTimelock(c: Clients, minDelay: number | bigint): Promise<Address> {
  const me = c.walletClient.account!.address;
  return deploy(c, readArtifact("governance/AdminTimelock.sol", "AdminTimelock"), [BigInt(minDelay), [me], [me], "0x0000000000000000000000000000000000000000"]);
}

/** Exit options of a custodian deployment. */
export type ExitOptions = {
  /** Groth16 verifier of the exit circuit. */
  exitVerifier: Address;
  /** Custodian.requestDeadline, seconds (default DEFAULT_REQUEST_DEADLINE, 7 days). */
  requestDeadline?: number;
  /** The admin timelock; default: a new one with requestDeadline + TIMELOCK_MARGIN_SECONDS (deployTimelock). */
  timelock?: Address;
  /** First recipient of the treasury's fee pool and insurance fund withdrawals; default: the admin (the wallet). */
  treasury?: Address;
};

/**
 * Minimum deposits of the demo tokens (Custodian.minDeposit), in base units: 1 USDC (6 decimals) and
 * 0.0005 WETH (18 decimals). Each queued deposit must bring at least this much, which is what makes flooding
 * the request queue cost capital and not just gas.
 */
export const DEMO_MIN_DEPOSITS = { usdc: 10n ** 6n, weth: 5n * 10n ** 14n } as const;

/**
 * Refuses a verifier whose circuit has another number of public inputs than the parameters' `circuit` circuit: it
 * would refuse every proof (an exit verifier's mismatch would show only in exodus, with every exit unprovable).
 */
function requireInputCount(verifierSol: string, expected: number, circuit: "batch" | "exit" | "marking"): void {
  const n = verifierInputCount(verifierSol);
  if (n !== expected) throw new Error(`${verifierSol}: the ${circuit} circuit of these parameters has ${expected} public inputs, this verifier's ${n}`);
}

/**
 * Deploys verifier + custodian. The verifier is the batched one generated from the circuit whose snarkjs
 * verifier is `verifierSol` (scripts/build/batchVerifierContract.ts: `verifyProof` for Custodian.submitBatch,
 * `verifyProofs` for Custodian.submitBatches). The deployer is admin; `operator` may submit batches. `quoteMinDeposit` is the
 * quote token's minimum deposit (default: DEMO_MIN_DEPOSITS.usdc, for a 6-decimal quote token). With
 * `markingVerifierSol` (the snarkjs verifier of the marking circuit for `params`: scripts/build/markingCircuit.ts), the
 * marks registry is deployed in front of its verifier before the custodian, which is given it (deployMarksRegistry).
 */
export async function deployExchange(
  c: Clients,
  opts: { params: CircuitParams; verifierSol: string; markingVerifierSol?: string; quoteToken: Address; quoteMinDeposit?: bigint; operator: Address } & ExitOptions,
): Promise<ExchangeDeployment> {
  requireInputCount(opts.verifierSol, publicInputCount(publicDataBytes(opts.params)), "batch");
  const verifier = await deploy(c, compileBatchVerifier(opts.verifierSol));
  const marksRegistry = opts.markingVerifierSol === undefined ? zeroAddress : (await deployMarksRegistry(c, opts.markingVerifierSol)).registry;
  const timelock = opts.timelock ?? (await deployTimelock(c, (opts.requestDeadline ?? DEFAULT_REQUEST_DEADLINE) + TIMELOCK_MARGIN_SECONDS));
  const custodian = await deployCustodian(c, { ...opts, verifier, timelock, marksRegistry });
  return { verifier, custodian, quoteToken: opts.quoteToken, exitVerifier: opts.exitVerifier, timelock, marksRegistry };
}

/**
 * Deploys the marking circuit's verifier (the batched one generated from its snarkjs verifier `markingVerifierSol`, with
 * `verifyFlatProof`: compileBatchVerifier) and a MarksRegistry (contracts/MarksRegistry.sol) in front of it. Refuses a
 * verifier of another number of public inputs than a marking proof's.
 */
export async function deployMarksRegistry(c: Clients, markingVerifierSol: string): Promise<{ verifier: Address; registry: Address }> {
  requireInputCount(markingVerifierSol, MARKING_PUBLIC_INPUTS, "marking");
  const verifier = await deploy(c, compileBatchVerifier(markingVerifierSol));
  const registry = await deploy(c, readArtifact("MarksRegistry.sol", "MarksRegistry"), [verifier]);
  return { verifier, registry };
}

/**
 * Deploys the custodian for `params` in front of an already deployed `verifier`, at the empty state's root; the
 * quote token's minimum deposit is `quoteMinDeposit` (default: DEMO_MIN_DEPOSITS.usdc). Without `timelock`, a new
 * admin timelock is deployed first (deployTimelock); the custodian's `timelock()` names it. Its libraries
 * (CUSTODIAN_LIBRARIES) are deployed first and linked. The treasury defaults to the admin (the wallet); `marksRegistry`
 * (default: none, the zero address) is the registry of marking proofs its batches may read marks under.
 */
export async function deployCustodian(
  c: Clients,
  opts: { params: CircuitParams; verifier: Address; marksRegistry?: Address; quoteToken: Address; quoteMinDeposit?: bigint; operator: Address } & ExitOptions,
): Promise<Address> {
  const genesisRoot = new ExchangeState(opts.params).root;
  const requestDeadline = opts.requestDeadline ?? DEFAULT_REQUEST_DEADLINE;
  const timelock = opts.timelock ?? (await deployTimelock(c, requestDeadline + TIMELOCK_MARGIN_SECONDS));
  const libraries: Record<string, Address> = {};
  for (const [source, name] of CUSTODIAN_LIBRARIES) libraries[name] = await deploy(c, readArtifact(source, name));
  const artifact = readArtifact("Custodian.sol", "Custodian");
  const admin = c.walletClient.account!.address;
  return deploy(c, { abi: artifact.abi, bytecode: linkBytecode(artifact, libraries) }, custodianArgs(opts.params, {
    verifier: opts.verifier, genesisRoot, quoteToken: opts.quoteToken, quoteMinDeposit: opts.quoteMinDeposit ?? DEMO_MIN_DEPOSITS.usdc,
    admin, operator: opts.operator, requestDeadline, exitVerifier: opts.exitVerifier, timelock, treasury: opts.treasury ?? admin, marksRegistry: opts.marksRegistry,
  }));
}

/** Registers `token` on the custodian under the next token id, with its minimum deposit. The wallet must be the admin. */
export async function registerToken(c: Clients, custodian: Address, token: Address, minDeposit: bigint): Promise<number> {
  const receipt = await send(c, custodian, custodianAbi, "registerToken", [token, minDeposit]);
  const [event] = parseEventLogs({ abi: custodianAbi, logs: receipt.logs, eventName: "TokenRegistered" });
  return event.args.tokenId;
}

/** Registers (or replaces) the oracle's public key on the custodian. The wallet must be the admin. */
export async function setOracleKey(c: Clients, custodian: Address, key: PublicKey): Promise<void> {
  await send(c, custodian, custodianAbi, "setOracleKey", [key[0], key[1]]);
}

/**
 * An instrument as the admin registers it: the tick size in 1e-8 quote per underlying unit, from which the
 * custodian derives the tick value (`tickSizeE8 * lotSizeE6 / 10^8`, exact).
 */
export type InstrumentRegistration = {
  kind: InstrumentKind;
  underlying: number;
  lotSizeE6: bigint;
  tickSizeE8: bigint;
  imPpm: number;
  mmPpm: number;
  strike: bigint;
  expiry: number;
  fundingCapPpm: number;
};

/** Registers an instrument (queues its REGISTER_INSTRUMENT request) and returns the id the custodian assigned. */
export async function registerInstrument(c: Clients, custodian: Address, r: InstrumentRegistration): Promise<number> {
  const receipt = await send(c, custodian, custodianAbi, "registerInstrument", [
    r.kind, r.underlying, r.lotSizeE6, r.tickSizeE8, r.imPpm, r.mmPpm, r.strike, r.expiry, r.fundingCapPpm,
  ]);
  const [event] = parseEventLogs({ abi: custodianAbi, logs: receipt.logs, eventName: "InstrumentRegistered" });
  return event.args.instrumentId;
}

/** A mintable ERC20 for tests and the devnet (contracts/test/TestToken.sol). */
export async function deployTestToken(c: Clients, name: string, symbol: string, decimals: number): Promise<Address> {
  return deploy(c, readArtifact("test/TestToken.sol", "TestToken"), [name, symbol, decimals]);
}

export { custodianAbi };

/** The demo market: WETH/USDC, one lot = 0.001 WETH, one tick = 0.01 USDC per WETH. */
export const DEMO_MARKET = { baseTokenId: 1, sizeUnit: 10n ** 15n, priceUnit: 10n } as const;

/**
 * The demo's instrument terms on ETH (underlying 0): lots of 0.01 ETH, ticks of 0.01 USDC, IM 10% / MM 5%;
 * kinds, strikes and expiries are the listing's own.
 */
export const DEMO_ETH_TERMS = { underlying: 0, lotSizeE6: 10_000n, tickSizeE8: 1_000_000n, imPpm: 100_000, mmPpm: 50_000, strike: 0n, expiry: 0, fundingCapPpm: 0 } as const;
/** The demo's ETH perpetual: funding capped at 0.05% per period. */
export const DEMO_ETH_PERPETUAL: InstrumentRegistration = { ...DEMO_ETH_TERMS, kind: InstrumentKind.PERPETUAL, fundingCapPpm: 500 };

export type DemoDeployment = ExchangeDeployment & { usdc: Address; weth: Address; marketId: number };

/**
 * A stand-in exit verifier that refuses every proof (contracts/test/MockVerifier.sol answering false): exits stay
 * impossible, never forgeable, until the exit circuit's verifier is wired in.
 */
export async function deployRefusingExitVerifier(c: Clients): Promise<Address> {
  const artifact = readArtifact("test/MockVerifier.sol", "MockVerifier");
  const address = await deploy(c, artifact);
  await send(c, address, artifact.abi, "setAnswer", [false]);
  return address;
}

/**
 * The custodian's exit verifier, chosen explicitly because it is immutable: a deployed one (`exitVerifier`), the one
 * generated from the exit circuit whose snarkjs verifier is `exitVerifierSol` (scripts/build/exitCircuit.ts;
 * compiled as the batch circuit's, compileBatchVerifier, for `verifyFlatProof`), or, for tests and benchmarks that
 * never exit, `refuseExits` (deployRefusingExitVerifier: no exit can ever be proven on that custodian).
 */
export type ExitVerifierChoice = { exitVerifier: Address } | { exitVerifierSol: string } | { refuseExits: true };

/**
 * Test USDC (6 decimals, quote) and WETH (18 decimals), the exchange, WETH registered and the demo market
 * queued; minimum deposits DEMO_MIN_DEPOSITS; the exit verifier as `opts` chooses it (ExitVerifierChoice); the marks
 * registry with `markingVerifierSol` (deployExchange).
 */
export async function deployDemoExchange(
  c: Clients,
  opts: { params: CircuitParams; verifierSol: string; markingVerifierSol?: string; operator: Address } & Omit<ExitOptions, "exitVerifier"> & ExitVerifierChoice,
): Promise<DemoDeployment> {
  const usdc = await deployTestToken(c, "USD Coin (test)", "USDC", 6);
  const weth = await deployTestToken(c, "Wrapped Ether (test)", "WETH", 18);
  const exitVerifier =
    "exitVerifier" in opts ? opts.exitVerifier
    : "exitVerifierSol" in opts ? (requireInputCount(opts.exitVerifierSol, exitPublicInputCount(opts.params), "exit"), await deploy(c, compileBatchVerifier(opts.exitVerifierSol)))
    : await deployRefusingExitVerifier(c);
  const exchange = await deployExchange(c, { ...opts, exitVerifier, quoteToken: usdc, quoteMinDeposit: DEMO_MIN_DEPOSITS.usdc });
  await registerToken(c, exchange.custodian, weth, DEMO_MIN_DEPOSITS.weth);
  await send(c, exchange.custodian, custodianAbi, "registerMarket", [DEMO_MARKET.baseTokenId, DEMO_MARKET.sizeUnit, DEMO_MARKET.priceUnit]);
  return { ...exchange, usdc, weth, marketId: 0 };
}
