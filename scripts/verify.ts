/**
 * The independent verifier as a command: rebuilds the exchange state from chain data alone (batch
 * calldata, request events) and checks every batch's proof and roots (sequencer/verifier/chainVerifier.ts).
 *
 *   npx tsx scripts/verify.ts --rpc http://127.0.0.1:8545 --custodian 0x... [--params test|devnet|production] [--vkey path]
 *                             [--checkpoint FILE] [--save-checkpoint FILE]
 *
 * Without --vkey the batch circuit for the parameters is built (cached) and its verification key used:
 * that is the development key of this checkout, so pass the deployment's real vkey for anything else.
 * Exit status: 0 when everything matches, 1 on any mismatch (all of them are printed) or error.
 */
import { readFileSync, realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { Command, Option } from "commander";
import { createPublicClient, http, isAddress, type Address, type PublicClient } from "viem";
import { buildBatchCircuit } from "./build/batchCircuit.ts";
import { terminateSnarkjsCurve } from "./setup/zkLibs.ts";
import { PARAMS_NAMES, PARAMS_SETS, type CircuitParams, type ParamsName } from "../sequencer/protocol/params.ts";
import { InstrumentKind } from "../sequencer/protocol/constants.ts";
import type { ExchangeState } from "../sequencer/state/exchangeState.ts";
import { verifyChain, type Balances, type VerifyProgress, type VerifyReport } from "../sequencer/verifier/chainVerifier.ts";
import { checkpointOf } from "../sequencer/verifier/checkpoint.ts";
import { readCheckpoint, writeCheckpoint } from "./lib/checkpointFile.ts";

export type VerifierOptions = {
  /** JSON-RPC URL of a node of the custodian's chain. */
  rpc: string;
  custodian: Address | string;
  /** Circuit parameter set; default "test". */
  params?: ParamsName;
  /** Path of the batch circuit's verification key (snarkjs JSON); default: the cached build's. */
  vkey?: string;
  /** First block to read events from; default 0. */
  fromBlock?: bigint;
  /** The block verified (views and events as of it); default the latest. */
  atBlock?: bigint;
  /** Most blocks one eth_getLogs call spans; default 10,000. */
  logRange?: bigint;
  /** Where the output lines go; default console.log. */
  print?: (line: string) => void;
  /** Called after each batch instead of printing its line (a progress bar, for instance). */
  onProgress?: (p: VerifyProgress) => void;
  /** Path of a checkpoint (sequencer/verifier/checkpoint.ts) to resume from instead of genesis. */
  checkpoint?: string;
  /** Where to write a checkpoint of the rebuilt state when everything matches (after the custodian's last batch). */
  saveCheckpoint?: string;
};

const hex = (v: bigint) => `0x${v.toString(16).padStart(64, "0")}`;

/** Loads the verification key from `path`, or builds (cached) the batch circuit for `params` and uses its key. */
export async function loadVkey(params: CircuitParams, path?: string, print: (line: string) => void = console.log): Promise<unknown> {
  if (path) return JSON.parse(readFileSync(path, "utf8"));
  const circuit = await buildBatchCircuit(params, "dev");
  print(`verification key: ${circuit.vkey}${circuit.insecure ? " (development key of this checkout)" : ""}`);
  return JSON.parse(readFileSync(circuit.vkey, "utf8"));
}

/** Runs the verifier against a node and returns its report, printing one line per batch. */
export async function verifyRpc(options: VerifierOptions): Promise<VerifyReport> {
  const print = options.print ?? console.log;
  if (!isAddress(options.custodian)) throw new Error(`--custodian ${options.custodian} is not an address`);
  const paramsName = options.params ?? "test";
  const params = PARAMS_SETS[paramsName];
  if (!params) throw new Error(`unknown parameter set ${paramsName} (test or production)`);
  const vkey = await loadVkey(params, options.vkey, print);
  const publicClient = createPublicClient({ transport: http(options.rpc) }) as PublicClient;
  print(`verifying custodian ${options.custodian} on ${options.rpc} (${paramsName} parameters)`);
  const checkpoint = options.checkpoint === undefined ? undefined : readCheckpoint(options.checkpoint);
  if (checkpoint) print(`resuming from checkpoint ${options.checkpoint} (the state after batch ${checkpoint.batchNumber}; checked against its root on chain)`);
  const report = await verifyChain({
    publicClient,
    custodian: options.custodian,
    params,
    vkey,
    fromBlock: options.fromBlock,
    atBlock: options.atBlock,
    logRange: options.logRange,
    checkpoint,
    onProgress: options.onProgress ?? (({ done, total, batch }) => {
      const width = String(total).length;
      const status = batch.ok ? "ok" : "MISMATCH";
      const proof = batch.proofValid ? "proof ok" : "proof INVALID";
      const root = batch.rootMatches ? "root ok" : "root MISMATCH";
      const rootPrefix = batch.header ? hex(batch.header.newRoot).slice(0, 18) : "?";
      print(`[${String(done).padStart(width)}/${total}] batch ${batch.batchNumber}: ${batch.transactions} tx, ${proof}, ${root} -> ${rootPrefix}…  ${status} (${Math.round(batch.verifyMs)} ms)`);
    }),
  });
  if (options.saveCheckpoint !== undefined) {
    if (!report.ok || report.lastBatch === null) {
      print(`no checkpoint written to ${options.saveCheckpoint}: ${report.ok ? "the custodian has accepted no batch yet" : "the rebuilt state does not match the chain"}`);
    } else {
      const target = { chainId: await publicClient.getChainId(), custodian: options.custodian, params };
      writeCheckpoint(options.saveCheckpoint, checkpointOf(report.state, report.lastBatch.batchNumber, report.lastBatch.blockNumber, target));
      print(`checkpoint written to ${options.saveCheckpoint}: the state after batch ${report.lastBatch.batchNumber} (block ${report.lastBatch.blockNumber})`);
    }
  }
  return report;
}


/**
 * The state rebuilt from chain data (verifyChain), refused unless its root is the custodian's: what a trader reads
 * positions from without the operator (the force-close verb picks its counterparty in it).
 */
export async function rebuiltState(o: {
  publicClient: PublicClient; custodian: Address; params: ParamsName; vkey?: string; fromBlock?: bigint; checkpoint?: string; print: (line: string) => void;
}): Promise<ExchangeState> {
  const params = PARAMS_SETS[o.params];
  const checkpoint = o.checkpoint === undefined ? undefined : readCheckpoint(o.checkpoint);
  const vkey = await loadVkey(params, o.vkey, o.print);
  o.print(`rebuilding the state from chain data (custodian ${o.custodian})${checkpoint ? `, from the checkpoint after batch ${checkpoint.batchNumber}` : ""}`);
  const report = await verifyChain({ publicClient: o.publicClient, custodian: o.custodian, params, vkey, fromBlock: o.fromBlock, checkpoint });
  if (!report.ok) throw new Error(`the state rebuilt from chain data is not the custodian's: ${report.mismatches.map((m) => m.message).join("; ")}`);
  return report.state;
}

/** The rebuilt balances as a table: account, token, amount. */
export function formatBalances(balances: Balances): string[] {
  if (balances.size === 0) return ["  (no accounts)"];
  const rows: [string, string, string][] = [["account", "token", "amount"]];
  for (const [account, tokens] of balances) {
    if (tokens.size === 0) rows.push([String(account), "-", "0"]);
    for (const [token, amount] of tokens) rows.push([String(account), String(token), amount.toString()]);
  }
  const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => `  ${r[0].padStart(widths[0])}  ${r[1].padStart(widths[1])}  ${r[2].padStart(widths[2])}`);
}

const KIND_NAMES = ["none", "perpetual", "future", "call", "put"];

/**
 * The rebuilt derivatives state: instruments (funding index, settlement price), the insurance fund, and
 * per account its collateral (funding not yet settled lazily is not included) and non-zero positions.
 */
export function formatDerivatives(state: ExchangeState): string[] {
  const lines: string[] = [];
  const instruments = state.instruments.map((inst, id) => ({ inst, id })).filter(({ inst }) => inst.kind !== InstrumentKind.NONE);
  if (instruments.length === 0) return ["  (no instruments)"];
  for (const { inst, id } of instruments) {
    const dated = inst.expiry ? `, expiry ${new Date(inst.expiry * 1000).toISOString()}` : "";
    const settled = inst.settlePrice ? `, settled at ${inst.settlePrice} (1e-8 quote)` : "";
    const strike = inst.strike ? `, strike ${inst.strike}` : "";
    lines.push(`  instrument ${id}: ${KIND_NAMES[inst.kind]} on underlying ${inst.underlying}${strike}${dated}, funding index ${inst.fundingIndex}${settled}`);
  }
  lines.push(`  insurance fund: ${state.globals.insuranceFund}, open bad debt ${state.globals.badDebt}, pooled quote ${state.globals.pooledQuote}; last oracle time ${state.globals.oracleTime}, funding epoch ${state.globals.fundingEpoch}`);
  for (const id of state.accountIds()) {
    const d = state.account(id).deriv;
    const positions = d.positions.flatMap((p, i) => (p.size === 0n ? [] : [`${p.size > 0n ? "+" : ""}${p.size} of ${i}`]));
    if (d.collateral === 0n && positions.length === 0) continue;
    lines.push(`  account ${id}: collateral ${d.collateral}${positions.length ? `, positions ${positions.join(", ")}` : ""}`);
  }
  return lines;
}

/** Prints the report's summary, balances and mismatches. */
export function printReport(report: VerifyReport, print: (line: string) => void = console.log): void {
  print(`as of block:     ${report.atBlock}`);
  print(`batches checked: ${report.batchesChecked}${report.resumedAfter === null ? "" : ` (after batch ${report.resumedAfter}, resumed from a checkpoint)`}`);
  print(`genesis root:    ${hex(report.genesisRoot)}`);
  print(`rebuilt root:    ${hex(report.finalRoot)}`);
  print(`custodian root:  ${hex(report.chainRoot)}`);
  print(`fee pool:        ${report.feePool}`);
  print("rebuilt balances:");
  for (const line of formatBalances(report.balances)) print(line);
  print("rebuilt derivatives (collateral in quote units, sizes in lots):");
  for (const line of formatDerivatives(report.state)) print(line);
  if (report.ok) {
    print("OK: every proof verifies and the rebuilt state matches every root on chain");
  } else {
    print(`FAILED: ${report.mismatches.length} mismatch(es)`);
    for (const m of report.mismatches) print(`  ${m.batchNumber === null ? "chain" : `batch ${m.batchNumber}`} [${m.check}] ${m.message}`);
  }
}

/** Verifies and prints; true when everything matches. For in-process callers (the devnet). */
export async function runVerifier(options: VerifierOptions): Promise<boolean> {
  const report = await verifyRpc(options);
  printReport(report, options.print ?? console.log);
  return report.ok;
}

async function main(): Promise<void> {
  const program = new Command()
    .name("verify")
    .description("Rebuild the exchange state from chain data alone and check every batch's proof and roots")
    .requiredOption("--rpc <url>", "JSON-RPC URL of the chain")
    .requiredOption("--custodian <address>", "address of the custodian contract")
    .addOption(new Option("--params <set>", "circuit parameter set").choices(PARAMS_NAMES).default("test"))
    .option("--vkey <path>", "verification key JSON of the batch circuit (default: the cached build's)")
    .option("--from-block <n>", "first block to read events from", "0")
    .option("--at-block <n>", "verify the state as of this block (default: the latest)")
    .option("--log-range <blocks>", "most blocks one eth_getLogs call spans", "10000")
    .option("--checkpoint <file>", "resume from a checkpoint (the state after a batch, checked against its root on chain) instead of genesis")
    .option("--save-checkpoint <file>", "when everything matches, write a checkpoint of the rebuilt state for later runs and exits")
    .parse();
  const o = program.opts<{ rpc: string; custodian: string; params: ParamsName; vkey?: string; fromBlock: string; atBlock?: string; logRange: string; checkpoint?: string; saveCheckpoint?: string }>();
  let ok = false;
  try {
    const block = (v: string, flag: string, min: bigint) => {
      if (!/^[0-9]{1,19}$/.test(v) || BigInt(v) < min) throw new Error(`${flag} ${v}: a block number${min > 0n ? ` of at least ${min}` : ""}`);
      return BigInt(v);
    };
    ok = await runVerifier({
      rpc: o.rpc, custodian: o.custodian, params: o.params, vkey: o.vkey, fromBlock: block(o.fromBlock, "--from-block", 0n),
      atBlock: o.atBlock === undefined ? undefined : block(o.atBlock, "--at-block", 0n), logRange: block(o.logRange, "--log-range", 1n),
      checkpoint: o.checkpoint, saveCheckpoint: o.saveCheckpoint,
    });
  } catch (e) {
    const short = (e as { shortMessage?: string }).shortMessage;
    console.error(`verify: ${short ?? (e instanceof Error ? e.message : String(e))}`);
  } finally {
    await terminateSnarkjsCurve();
  }
  process.exit(ok ? 0 : 1);
}

function invokedDirectly(): boolean {
  try {
    return process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
  } catch {
    return false;
  }
}
if (invokedDirectly()) await main();
