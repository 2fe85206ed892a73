/**
 * The sequencer as a process, durable in a data directory: kill it at any moment (SIGKILL included),
 * start it again with the same directory, and it recovers the books, accounts, pending transactions and
 * any proven batch not yet confirmed from its log and the chain, then carries on.
 *
 *   npx tsx sequencer/process/main.ts --data ./.sequencer --rpc http://127.0.0.1:8545 \
 *       --custodian 0x... --operator-key 0x... --wasm batch.wasm --zkey batch.zkey --vkey batch.vkey.json \
 *       [--port 8080] [--params test] [--prover-queue postgres://...] [--max-backlog N]
 *
 * Proofs come from this machine's prover (native with snarkjs checking, or snarkjs) unless
 * --prover-queue URL names a prover queue (`npm run prover-queue` prints the URL): then prover workers
 * (`npm run prover-worker -- --queue URL`, on this or other machines) prove each batch, and this process
 * verifies every proof before posting it (fpga-prover/queue/README.md).
 *
 * The circuit artifacts are the operator's (production keys from the phase-2 ceremony): this process never
 * builds the circuit or makes keys. `npm run build:circuit` builds a dev circuit and prints its paths. A batch that
 * reads option marks from a marking is sent once the custodian's marks registry holds the marking's key: with
 * --marking-wasm/--marking-zkey/--marking-vkey (the marking circuit's artifacts, scripts/build/markingCircuit.ts) and
 * --marks-registry the marking is proven and recorded first; without them such a batch is never sent.
 *
 * Derivatives: --liquidator-account N with the liquidator's trading key (--liquidator-key 0x.. or
 * SEQUENCER_LIQUIDATOR_KEY) lets the sequencer liquidate accounts below maintenance margin against that
 * account (a dedicated operator account with collateral); without it nothing is liquidated.
 *
 * The operator key may also come from SEQUENCER_OPERATOR_KEY; --dev-operator uses the Hardhat
 * development account 0 (local chains only). The HTTP API (sequencer/api) listens when --port is given;
 * a parent that spawned this process with an IPC channel can drive it over that (ipc.ts). The log is
 * bound to the chain, custodian and circuit parameters: another deployment's directory is refused.
 * On SIGTERM/SIGINT the batch loop stops after its current step and the store is closed.
 *
 * Fault injection (crash tests only): SEQUENCER_CRASH_AT=<built|proved|sent|posted>[:<batch>] makes the
 * process SIGKILL itself when a batch reaches that stage (any batch, or the numbered one).
 * SEQUENCER_TRACE=1 logs every stage of every batch (a trace of a long test run).
 */
import { join } from "node:path";
import { Command, Option } from "commander";
import { createPublicClient, createWalletClient, defineChain, hexToBytes, http, isAddress, type Address, type Hex, type PublicClient } from "viem";
import { mnemonicToAccount, privateKeyToAccount } from "viem/accounts";
import { loadCircuitArtifacts } from "../../fpga-prover/artifacts.ts";
import { createDefaultProver } from "../../fpga-prover/defaultProver.ts";
import type { VerifiedProver } from "../../fpga-prover/prover.ts";
import { createApiServer } from "../api/server.ts";
import { BackgroundFillStore } from "../api/backgroundFillStore.ts";
import { SqliteStore } from "../persistence/sqliteStore.ts";
import { custodianAbi } from "../chain/abi.ts";
import { PARAMS_NAMES, PARAMS_SETS, paramsId, publicDataBytes, type ParamsName } from "../protocol/params.ts";
import { publicInputCount } from "../protocol/publicData.ts";
import { serveIpc } from "./ipc.ts";
import { checkMarksRegistry, markingSettings, pipelineSettings, type MarkingFlags, type PipelineFlags } from "./pipelineFlags.ts";
import { Sequencer, type BatchStage } from "../service/sequencer.ts";
import { defaultMaxBacklog } from "../service/backlog.ts";

/** Hardhat's well-known development mnemonic (--dev-operator). Never use it on a real chain. */
const DEV_MNEMONIC = "test test test test test test test test test test test junk";

const opts = new Command()
  .name("sequencer")
  .description("Runs the sequencer with a durable data directory")
  .requiredOption("--data <dir>", "data directory (created if missing)")
  .requiredOption("--rpc <url>", "JSON-RPC URL of the custodian's chain")
  .requiredOption("--custodian <address>", "custodian contract address")
  .option("--operator-key <hex>", "operator private key (or SEQUENCER_OPERATOR_KEY)")
  .option("--dev-operator", "use the Hardhat development account 0 as operator", false)
  .addOption(new Option("--params <set>", "circuit parameter set").choices(PARAMS_NAMES).default("test"))
  .requiredOption("--wasm <path>", "the batch circuit's witness calculator (.wasm)")
  .requiredOption("--zkey <path>", "its Groth16 proving key (.zkey)")
  .requiredOption("--vkey <path>", "its verification key (.json), the one the custodian's verifier holds")
  .option("--marking-wasm <path>", "the marking circuit's witness calculator (.wasm), with --marking-zkey, --marking-vkey and --marks-registry")
  .option("--marking-zkey <path>", "its Groth16 proving key (.zkey)")
  .option("--marking-vkey <path>", "its verification key (.json), the one the marks registry's verifier holds")
  .option("--marks-registry <address>", "the custodian's marks registry: markings are recorded there before the batches that read them")
  .option("--port <port>", "serve the HTTP API on this port")
  .option("--host <host>", "the API's listening address", "127.0.0.1")
  .option("--poll-ms <ms>", "request polling interval", "500")
  .option("--confirmations <blocks>", "admit a queued request (deposit, key, listing, forced withdrawal) once this many blocks are above it: 0 on a devnet, finalised depth (e.g. 64) where the chain can reorganise", "0")
  .option("--post-confirmations <blocks>", "a batch counts as posted (logged, its state committed) once this many blocks hold its transaction: 1 on a devnet, more where the chain can reorganise", "1")
  .option("--replace-after-ms <ms>", "a batch transaction left unmined this long is sent again at its nonce with higher fees", "60000")
  .option("--max-fee-gwei <gwei>", "the most a replaced batch transaction offers per gas (default: no bound)")
  .option("--log-range <blocks>", "most blocks one eth_getLogs call spans when reading the request queue", "10000")
  .option("--from-block <n>", "the custodian's deployment block: the request queue is read from there", "0")
  .option("--max-wait-ms <ms>", "longest a transaction waits for a batch", "2000")
  .option("--max-backlog <n>", "refuse new orders, withdrawals and transfers (503 BACKLOG_FULL) while this many transactions wait for batches; 0: no bound (default: 16 full batches)")
  .option("--snapshot-every <records>", "snapshot after this many log records", "10000")
  .option("--pipeline-depth <n>", "batches in flight at once: the next is built and proven while the ones before it are", "1")
  .option("--batches-per-post <n>", "batches posted by one transaction (their proofs awaited and verified together)", "1")
  .option("--maker-fee-ppm <ppm>", "maker fee", "100")
  .option("--taker-fee-ppm <ppm>", "taker fee", "500")
  .option("--liquidator-account <id>", "the operator's liquidator account (derivatives)")
  .option("--liquidator-key <hex>", "its trading key, 32 bytes hex (or SEQUENCER_LIQUIDATOR_KEY)")
  .option("--prover-queue <url>", "prove on prover workers through this prover queue (PostgreSQL URL) instead of locally")
  .parse()
  .opts<{
    data: string; rpc: string; custodian: string; operatorKey?: string; devOperator: boolean; params: ParamsName;
    wasm: string; zkey: string; vkey: string; port?: string; host: string; pollMs: string; confirmations: string; postConfirmations: string; replaceAfterMs: string; maxFeeGwei?: string; logRange: string; fromBlock: string; maxWaitMs: string; maxBacklog?: string; snapshotEvery: string; makerFeePpm: string; takerFeePpm: string;
    liquidatorAccount?: string; liquidatorKey?: string; proverQueue?: string;
  } & PipelineFlags & MarkingFlags>();

const log = (line: string) => console.log(`[sequencer ${process.pid}] ${line}`);

/**
 * The batch-stage hook: with SEQUENCER_TRACE set, logs each stage of each batch; with
 * SEQUENCER_CRASH_AT, SIGKILLs this process at that stage. Undefined when neither is set.
 */
function stageHook(crashAt: string | undefined, trace: boolean): ((stage: BatchStage, batchNumber: number) => void) | undefined {
  if (!crashAt && !trace) return undefined;
  const [stage, batch] = (crashAt ?? "").split(":");
  if (crashAt && !["built", "proved", "sent", "posted"].includes(stage)) throw new Error(`SEQUENCER_CRASH_AT: unknown stage ${stage}`);
  return (s, n) => {
    if (trace) log(`batch ${n} ${s}`);
    if (crashAt && s === stage && (batch === undefined || Number(batch) === n)) {
      log(`SEQUENCER_CRASH_AT=${crashAt}: killing myself at batch ${n} ${s}`);
      process.kill(process.pid, "SIGKILL");
    }
  };
}

/** The QueueProver of --prover-queue (pg-boss loaded only then). */
async function connectProverQueue(url: string): Promise<{ prover: VerifiedProver; description: string }> {
  const { QueueProver, describeQueueUrl } = await import("../../fpga-prover/queue/queueProver.ts");
  const prover = await QueueProver.connect(url, { log });
  return { prover, description: `prover queue at ${describeQueueUrl(url)} (workers prove, proofs verified here with snarkjs)` };
}

/** A block count option: a decimal integer of at least `min`. */
function blockCount(value: string, flag: string, min: number): number {
  if (!/^(0|[1-9][0-9]{0,8})$/.test(value) || Number(value) < min) throw new Error(`${flag} ${value}: a whole number of blocks, at least ${min}`);
  return Number(value);
}

async function main(): Promise<void> {
  if (!isAddress(opts.custodian)) throw new Error(`--custodian ${opts.custodian} is not an address`);
  const key = opts.operatorKey ?? process.env.SEQUENCER_OPERATOR_KEY;
  if (!key && !opts.devOperator) throw new Error("no operator key: pass --operator-key, set SEQUENCER_OPERATOR_KEY or use --dev-operator");
  const account = key ? privateKeyToAccount(key as Hex) : mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 0 });
  const params = PARAMS_SETS[opts.params];
  const liquidatorKey = opts.liquidatorKey ?? (process.env.SEQUENCER_LIQUIDATOR_KEY || undefined);
  if ((opts.liquidatorAccount === undefined) !== (liquidatorKey === undefined)) throw new Error("--liquidator-account and --liquidator-key go together");
  if (liquidatorKey !== undefined && !/^0x[0-9a-fA-F]{64}$/.test(liquidatorKey)) throw new Error("--liquidator-key: 32 bytes of hex, 0x-prefixed");
  if (opts.liquidatorAccount !== undefined && !/^(0|[1-9][0-9]{0,9})$/.test(opts.liquidatorAccount)) throw new Error("--liquidator-account: an account id");
  const liquidator = liquidatorKey === undefined ? undefined : { accountId: Number(opts.liquidatorAccount), key: hexToBytes(liquidatorKey as Hex) };
  const keys = loadCircuitArtifacts({ wasm: opts.wasm, zkey: opts.zkey, vkey: opts.vkey }, publicInputCount(publicDataBytes(params)));
  const { pipelineDepth, batchesPerPost } = pipelineSettings(opts);
  const marking = markingSettings(opts);
  if (opts.maxBacklog !== undefined && !/^(0|[1-9][0-9]{0,8})$/.test(opts.maxBacklog)) throw new Error(`--max-backlog ${opts.maxBacklog}: a whole number of transactions (0: no bound)`);
  const maxBacklog = opts.maxBacklog === undefined ? defaultMaxBacklog(params) : Number(opts.maxBacklog) || undefined;
  if (opts.proverQueue !== undefined && !/^postgres(ql)?:\/\/[^/]+/.test(opts.proverQueue)) throw new Error(`--prover-queue ${opts.proverQueue}: not a postgres:// URL`);

  const requestReads = {
    confirmations: blockCount(opts.confirmations, "--confirmations", 0), maxBlockRange: blockCount(opts.logRange, "--log-range", 1),
    fromBlock: BigInt(blockCount(opts.fromBlock, "--from-block", 0)),
  };
  if (!/^[1-9][0-9]{0,8}$/.test(opts.replaceAfterMs)) throw new Error(`--replace-after-ms ${opts.replaceAfterMs}: a whole number of milliseconds > 0`);
  if (opts.maxFeeGwei !== undefined && !/^[1-9][0-9]{0,6}$/.test(opts.maxFeeGwei)) throw new Error(`--max-fee-gwei ${opts.maxFeeGwei}: a whole number of gwei > 0`);
  const posting = {
    confirmations: blockCount(opts.postConfirmations, "--post-confirmations", 1), replaceAfterMs: Number(opts.replaceAfterMs),
    maxFeePerGas: opts.maxFeeGwei === undefined ? undefined : BigInt(opts.maxFeeGwei) * 10n ** 9n, log: (line: string) => log(`posting: ${line}`),
  };
  const probe = createPublicClient({ transport: http(opts.rpc) });
  const chainId = await probe.getChainId();
  const chain = defineChain({ id: chainId, name: `chain ${chainId}`, nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [opts.rpc] } } });
  const publicClient = createPublicClient({ chain, transport: http(opts.rpc) }) as PublicClient;
  const walletClient = createWalletClient({ chain, transport: http(opts.rpc), account });
  checkMarksRegistry(await publicClient.readContract({ address: opts.custodian as Address, abi: custodianAbi, functionName: "marksRegistry" }), marking);

  // The API answers a request once its records are durable (Sequencer.durable): the fsync runs off the
  // JavaScript thread, so intake keeps going while the disk works (sqliteStore.ts, background sync).
  const store = new SqliteStore(join(opts.data, "sequencer.db"), { sync: "background" });
  store.bind({ chainId: String(chainId), custodian: opts.custodian.toLowerCase(), params: paramsId(params) });
  // What replay reads from these options (a market's fees when its registration replays, the liquidator of every
  // liquidation): a restart with other values would rebuild other batches than the log's, so they are bound too.
  store.bind({ makerFeePpm: opts.makerFeePpm, takerFeePpm: opts.takerFeePpm, liquidatorAccount: opts.liquidatorAccount ?? "none" }, "settings");

  const { prover, description } = opts.proverQueue ? await connectProverQueue(opts.proverQueue) : createDefaultProver(log);
  const t0 = performance.now();
  const sequencer = new Sequencer({
    params,
    keys,
    ...marking,
    prover,
    chain: { publicClient, walletClient, custodian: opts.custodian as Address, requestReads, posting },
    makerFeePpm: Number(opts.makerFeePpm),
    takerFeePpm: Number(opts.takerFeePpm),
    store,
    snapshotEvery: Number(opts.snapshotEvery),
    pipelineDepth,
    batchesPerPost,
    maxBacklog,
    onBatchStage: stageHook(process.env.SEQUENCER_CRASH_AT, Boolean(process.env.SEQUENCER_TRACE)),
    log,
    liquidator,
  });
  const unposted = sequencer.unpostedBatch;
  log(`recovered ${store.lastSeq} log records in ${Math.round(performance.now() - t0)} ms: root ${sequencer.query.stateRoot}, ${sequencer.query.pendingTransactions} pending${unposted === null ? "" : `, ${sequencer.batchesInFlight} batch(es) from ${unposted} in flight`}; prover: ${description}`);

  // the custodian's oracle key, before anything is taken: the log's may be one the timelock replaced since
  await sequencer.derivatives.refreshOracleKey();
  const stop = sequencer.start({ pollMs: Number(opts.pollMs), maxWaitMs: Number(opts.maxWaitMs), onError: (e) => log(`batch failed, will retry: ${(e as Error).message}`) });
  // The trade history beside the log (the log's bind above refuses another exchange's data directory).
  const fillStore = opts.port ? new BackgroundFillStore(join(opts.data, "history.db"), (e) => log(`trade history: ${e.message}`)) : null;
  const api = fillStore ? createApiServer(sequencer, { exchange: { chainId, custodian: opts.custodian as Address }, fillStore }) : null;
  if (api) log(`HTTP API on ${await api.listen({ port: Number(opts.port), host: opts.host })}`);
  if (process.send) {
    serveIpc(sequencer);
    process.send({ ready: true, pid: process.pid });
  }

  const shutdown = async () => {
    await api?.close();
    await stop();
    await fillStore?.close();
    store.close();
    process.exit(0);
  };
  process.once("SIGTERM", shutdown);
  process.once("SIGINT", shutdown);
  process.once("disconnect", shutdown); // the parent that drove us over IPC is gone
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
