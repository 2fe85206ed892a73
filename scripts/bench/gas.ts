/**
 * Gas of real batches on an in-process Hardhat chain: deploys the exchange with the circuit's real
 * (dev-key) Groth16 verifier, queues requests from user wallets, builds, proves (snarkjs device) and
 * posts batches of each kind, and reads submitBatch's gasUsed from the receipts. Baseline in the same
 * chain: the verifier's own verifyProof gas (estimateGas) and the all-NOOP batch.
 *
 *   npx tsx scripts/bench/gas.ts [slots=2,8]     # test-depth circuits with these slot counts
 *
 * Each slot count is its own circuit (cached dev build: compile + setup the first time; 8 slots is a
 * 2^19 domain, about a minute of setup), its own verifier and custodian.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { network } from "hardhat";
import { encodeFunctionData, erc20Abi, type Abi, type Address, type Hex, type PublicClient, type TransactionReceipt, type WalletClient } from "viem";
import { buildBatchCircuit } from "../build/batchCircuit.ts";
import { compileVerifier } from "../build/verifierContract.ts";
import { DEMO_MIN_DEPOSITS, deployExchange, deployRefusingExitVerifier, deployTestToken, readArtifact, type Clients } from "../deploy/deployExchange.ts";
import { SnarkjsDevice } from "../../fpga-prover/snarkjsDevice.ts";
import { buildBatch } from "../../sequencer/batch/batchWitness.ts";
import { NOOP, type BatchTx } from "../../sequencer/protocol/transactions.ts";
import { custodianAbi } from "../../sequencer/chain/abi.ts";
import { CustodianClient } from "../../sequencer/chain/custodianClient.ts";
import { toCalldataProof, type CalldataProof } from "../../sequencer/protocol/calldataProof.ts";
import { fetchRequests } from "../../sequencer/chain/requests.ts";
import { INSTRUMENT_MARKET_BASE, InstrumentKind, OrderType, Side, TimeInForce, TxType } from "../../sequencer/protocol/constants.ts";
import { publicKeyOf } from "../../sequencer/crypto/babyjub.ts";
import { signOracleUpdate } from "../../sequencer/derivatives/oracleSigner.ts";
import type { SignedOracleUpdate } from "../../sequencer/derivatives/oracleStep.ts";
import { signOrder, signTransfer } from "../../sequencer/protocol/signing.ts";
import { TEST_PARAMS, type CircuitParams } from "../../sequencer/protocol/params.ts";
import { ExchangeState } from "../../sequencer/state/exchangeState.ts";
import { BASE_PER_TRADE, cancels, MARKET, QUOTE_PER_TRADE, trader, trades, withdrawals } from "./fixtures.ts";
import { EMPTY_SLICE } from "../../sequencer/protocol/volSlices.ts";
import { isMainModule } from "../lib/mainModule.ts";
import { calldataGas, dur, int, progress, ROOT, section, table } from "./util.ts";

const TYPE_NAMES = Object.fromEntries(Object.entries(TxType).map(([k, v]) => [v, k])) as Record<number, string>;

function describe(txs: readonly BatchTx[], slots: number): string {
  const counts = new Map<string, number>();
  for (const tx of [...txs, ...Array<BatchTx>(slots - txs.length).fill(NOOP)]) counts.set(TYPE_NAMES[tx.type]!, (counts.get(TYPE_NAMES[tx.type]!) ?? 0) + 1);
  return [...counts].map(([t, n]) => `${n} ${t}`).join(" + ");
}

type BatchRow = {
  slots: number;
  constraints: number;
  kind: string;
  content: string;
  gasUsed: bigint;
  calldataBytes: number;
  calldataGas: number;
  witnessMs: number;
  proveMs: number;
};

type SizeResult = {
  slots: number;
  constraints: number;
  rows: BatchRow[];
  verifyProofGas: bigint;
  verifyProofCalldataGas: number;
  user: { what: string; gas: bigint }[];
};

async function benchSize(viem: Awaited<ReturnType<typeof network.create>>["viem"], slots: number): Promise<SizeResult> {
  const params: CircuitParams = { ...TEST_PARAMS, slots };
  progress(`gas: ${slots} slots: building the circuit (cached after the first run)`);
  const circuit = await buildBatchCircuit(params);
  const vkey = JSON.parse(readFileSync(circuit.vkey, "utf8")) as unknown;
  const keys = { wasm: circuit.wasm, zkey: circuit.zkey, vkey };
  const device = new SnarkjsDevice();

  const publicClient = (await viem.getPublicClient()) as unknown as PublicClient;
  const [operator, aliceWallet, bobWallet] = (await viem.getWalletClients()) as unknown as WalletClient[];
  const as = (w: WalletClient): Clients => ({ publicClient, walletClient: w });
  const user: SizeResult["user"] = [];
  const send = async (w: WalletClient, address: Address, abi: Abi, functionName: string, args: readonly unknown[], record?: string): Promise<TransactionReceipt> => {
    const hash = await w.writeContract({ address, abi, functionName, args, account: w.account!, chain: w.chain } as never);
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`${functionName} reverted`);
    if (record) user.push({ what: record, gas: receipt.gasUsed });
    return receipt;
  };

  const usdc = await deployTestToken(as(operator!), "USD Coin", "USDC", 6);
  const weth = await deployTestToken(as(operator!), "Wrapped Ether", "WETH", 18);
  const { custodian, verifier } = await deployExchange(as(operator!), { params, verifierSol: circuit.verifierSol, quoteToken: usdc, operator: operator!.account!.address, exitVerifier: await deployRefusingExitVerifier(as(operator!)) });
  const client = new CustodianClient({ publicClient, walletClient: operator!, custodian });
  await send(operator!, custodian, custodianAbi, "registerToken", [weth, DEMO_MIN_DEPOSITS.weth]);

  const alice = trader(1);
  const bob = trader(2);
  await send(aliceWallet!, custodian, custodianAbi, "registerTradingKey", [...alice.pubKey], "registerTradingKey (new account)");
  await send(bobWallet!, custodian, custodianAbi, "registerTradingKey", [...bob.pubKey]);
  for (const [w, id] of [[aliceWallet!, 1], [bobWallet!, 2]] as const) {
    const got = await publicClient.readContract({ address: custodian, abi: custodianAbi, functionName: "accountOf", args: [w.account!.address] });
    if (Number(got) !== id) throw new Error(`expected account ${id}, custodian assigned ${got}`);
  }
  await send(operator!, custodian, custodianAbi, "registerMarket", [MARKET.baseTokenId, MARKET.sizeUnit, MARKET.priceUnit], "registerMarket (admin)");

  const state = new ExchangeState(params);
  let requestCursor = 0;
  let batchNumber = 0;
  const rows: BatchRow[] = [];
  let lastProof: { proof: CalldataProof; inputs: bigint[] } | undefined;

  /** Proves and posts `txs`; `oracle` signs the batch's oracle update for its timestamp (derivatives batches). */
  const post = async (kind: string, txs: BatchTx[], oracle?: (timestamp: number) => SignedOracleUpdate): Promise<void> => {
    const chainTime = Number((await publicClient.getBlock()).timestamp);
    const timestamp = Math.max(chainTime, await client.lastTimestamp());
    const batch = buildBatch(state, txs, { batchNumber, timestamp, verifySignatures: true, oracle: oracle?.(timestamp) });
    progress(`gas: ${slots} slots: proving batch ${batchNumber} (${describe(txs, slots)})`);
    const proved = await device.prove(keys, batch.circuitInput);
    const proof = toCalldataProof(proved.proof);
    const hash = await client.submitBatch(batchNumber, batch.publicData, proof);
    if (!hash) throw new Error(`batch ${batchNumber} was not sent`);
    const receipt = await publicClient.getTransactionReceipt({ hash });
    const tx = await publicClient.getTransaction({ hash });
    const cd = calldataGas(tx.input);
    rows.push({
      slots, constraints: circuit.nConstraints, kind, content: describe(txs, slots), gasUsed: receipt.gasUsed,
      calldataBytes: cd.bytes, calldataGas: cd.gas, witnessMs: proved.timings.witnessMs, proveMs: proved.timings.proveMs,
    });
    if (kind === "trades") lastProof = { proof, inputs: batch.publicInputs };
    batchNumber++;
  };
  const requests = async (): Promise<BatchTx[]> => {
    const got = await fetchRequests(publicClient, custodian, requestCursor);
    if (got.length) requestCursor = got[got.length - 1]!.index + 1;
    return got.map((r) => r.tx);
  };

  // Set-up batches: the key registrations and the market, `slots` at a time.
  const setup = await requests();
  for (let i = 0; i < setup.length; i += slots) await post("set-up requests", setup.slice(i, i + slots));
  await post("all NOOP", []);

  // Deposits: `slots` deposits alternating between the traders (quote from alice, base from bob).
  const tokenAbi = readArtifact("test/TestToken.sol", "TestToken").abi;
  // Each trader makes slots/2 deposits; each deposit alone covers every trade and withdrawal of the run.
  const perDepositQuote = 4n * BigInt(slots) * QUOTE_PER_TRADE;
  const perDepositBase = 4n * BigInt(slots) * BASE_PER_TRADE;
  await send(operator!, usdc, tokenAbi, "mint", [aliceWallet!.account!.address, perDepositQuote * BigInt(slots)]);
  await send(operator!, weth, tokenAbi, "mint", [bobWallet!.account!.address, perDepositBase * BigInt(slots)]);
  await send(aliceWallet!, usdc, erc20Abi, "approve", [custodian, perDepositQuote * BigInt(slots)]);
  await send(bobWallet!, weth, erc20Abi, "approve", [custodian, perDepositBase * BigInt(slots)]);
  for (let i = 0; i < slots; i++) {
    const [w, token, amount] = i % 2 === 0 ? [aliceWallet!, 0, perDepositQuote] : [bobWallet!, 1, perDepositBase];
    await send(w, custodian, custodianAbi, "deposit", [token, amount], i === 0 ? "deposit (ERC20 transferFrom + queue)" : undefined);
  }
  const deposits = await requests();
  if (deposits.length !== slots || deposits.some((d) => d.type !== TxType.DEPOSIT)) throw new Error("unexpected deposit requests");
  await post("deposits", deposits);

  await post("trades", trades(alice, bob, slots, 1));
  const nonces = new Map<number, number>();
  await post("withdrawals", withdrawals([alice, bob], slots, nonces));
  await post("cancels", cancels([alice, bob], slots, 4 ** params.orderLevels * 2));
  await send(aliceWallet!, custodian, custodianAbi, "withdraw", [0], "withdraw (claim credited ERC20)");

  // Derivatives: the oracle key, a perpetual (lots of 0.01, ticks of 0.01 quote), collateral for both
  // traders, then one perpetual trade in a batch that carries a signed oracle update.
  const oracleKey = new Uint8Array(32).fill(99);
  const oracle = (timestamp: number) => signOracleUpdate(oracleKey, {
    time: timestamp, fundingEpoch: 0, prices: Array(params.underlyings).fill(300_000_000_000n), volSlices: Array.from({ length: params.optionInstruments }, () => EMPTY_SLICE), rates: Array(params.instruments).fill(0n),
  });
  await send(operator!, custodian, custodianAbi, "setOracleKey", [...publicKeyOf(oracleKey)], "setOracleKey (admin)");
  await send(operator!, custodian, custodianAbi, "registerInstrument", [InstrumentKind.PERPETUAL, 0, 10_000n, 1_000_000n, 100_000, 50_000, 0n, 0, 1_000], "registerInstrument (admin)");
  await post("instrument registration", await requests());
  for (const t of [alice, bob]) {
    const amount = state.balance(t.accountId, 0) / 2n;
    const request = signTransfer(t.key, { accountId: t.accountId, toCollateral: true, amount, nonce: nonces.get(t.accountId) ?? 0 });
    nonces.set(t.accountId, (nonces.get(t.accountId) ?? 0) + 1);
    await post("collateral transfer", [{ type: TxType.TRANSFER, request }], oracle);
  }
  const perp = (t: typeof alice, side: Side) => signOrder(t.key, {
    accountId: t.accountId, orderId: 900n, marketId: INSTRUMENT_MARKET_BASE, side, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC,
    priceTicks: 300_000n, sizeLots: 1n, maxFeePpm: 1_000, expiry: 2 ** 32 - 1,
  });
  await post("derivatives trade + oracle update", [{
    type: TxType.DERIV_TRADE, buy: perp(alice, Side.BUY), sell: perp(bob, Side.SELL), lots: 1n, priceTicks: 300_000n, buyFeePpm: 500, sellFeePpm: 100,
  }], oracle);

  if ((await client.stateRoot()) !== state.root) throw new Error("custodian root differs from the local state");

  // The verifier alone, called directly with the trade batch's proof.
  const p = lastProof!;
  const verifierAbi = compileVerifier(circuit.verifierSol).abi;
  const data = encodeFunctionData({
    abi: verifierAbi,
    functionName: "verifyProof",
    args: [[p.proof[0], p.proof[1]], [[p.proof[2], p.proof[3]], [p.proof[4], p.proof[5]]], [p.proof[6], p.proof[7]], p.inputs],
  });
  const ok = await publicClient.call({ to: verifier, data });
  if (!ok.data || BigInt(ok.data) !== 1n) throw new Error("verifyProof returned false for a posted proof");
  const verifyProofGas = await publicClient.estimateGas({ account: operator!.account!, to: verifier, data });
  return { slots, constraints: circuit.nConstraints, rows, verifyProofGas, verifyProofCalldataGas: calldataGas(data).gas, user };
}

export async function runGas(opts: { slots?: number[] } = {}): Promise<SizeResult[]> {
  const sizes = opts.slots ?? [2, 8];
  progress("gas: hardhat compile (incremental)");
  execFileSync(`${ROOT}/node_modules/.bin/hardhat`, ["compile", "--quiet"], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
  const connection = await network.create();
  const results: SizeResult[] = [];
  for (const s of sizes) results.push(await benchSize(connection.viem, s));
  const hardfork = (connection.networkConfig as { hardfork?: string }).hardfork ?? "Hardhat default";

  section("4. Gas (in-process Hardhat chain, real dev-key Groth16 verifier, real proofs)");
  console.log(
    `Hardfork: ${hardfork}. Test depths (${TEST_PARAMS.accountLevels}/${TEST_PARAMS.balanceLevels}/${TEST_PARAMS.orderLevels}/${TEST_PARAMS.marketLevels}); ` +
      `circuits built and posted: ${results.map((r) => `${r.slots} slots (${int(r.constraints)} constraints)`).join(", ")}. ` +
      `'execution' = gasUsed − 21,000 − calldata gas (4/16 per zero/non-zero byte). Each batch is proved with the snarkjs device and posted with submitBatch.\n`,
  );
  const rows = results.flatMap((r) =>
    r.rows.map((b) => [
      `${b.slots}`, b.kind, b.content, int(b.gasUsed), int(Number(b.gasUsed) / b.slots), int(b.calldataBytes), int(b.calldataGas),
      int(Number(b.gasUsed) - 21_000 - b.calldataGas), `${dur(b.witnessMs)} + ${dur(b.proveMs)}`,
    ]),
  );
  console.log(table(["slots", "batch", "content", "submitBatch gas", "gas / slot", "calldata bytes", "calldata gas", "execution gas", "witness + prove"], rows, ["r", "l", "l", "r", "r", "r", "r", "r", "r"]));

  const summary = results.map((r) => {
    const get = (kind: string) => r.rows.find((x) => x.kind === kind)!;
    const noop = get("all NOOP");
    const t = get("trades");
    const verifierExec = Number(r.verifyProofGas) - 21_000 - r.verifyProofCalldataGas;
    return [
      `${r.slots}`, int(r.constraints), int(r.verifyProofGas), int(verifierExec), int(noop.gasUsed), int(t.gasUsed),
      `**${int(Number(t.gasUsed) / r.slots)}**`, int(Number(t.gasUsed - noop.gasUsed) / r.slots),
      int(Number(get("deposits").gasUsed) / r.slots), int(Number(get("withdrawals").gasUsed) / r.slots),
      `${((100 * verifierExec) / Number(t.gasUsed)).toFixed(0)}%`,
    ];
  });
  console.log("\nBaseline and per-transaction gas:\n");
  console.log(
    table(
      ["slots", "constraints", "verifyProof estimateGas (tx)", "verifier execution", "all-NOOP batch", "trade batch", "gas per trade", "per trade above NOOP batch", "gas per deposit", "gas per withdrawal", "verifier share of trade batch"],
      summary,
    ),
  );
  const u = results[0]!.user;
  console.log("\nUser-side L1 transactions (for comparison):\n");
  console.log(table(["transaction", "gasUsed"], u.map((x) => [x.what, int(x.gas)])));
  console.log("\nA credited withdrawal writes withdrawable[owner][token]: about 22k gas when that slot was zero, about 5k when it already held a credit, so the withdrawal batches above depend on how many owners/tokens they touch.");
  const byKind = (r: SizeResult, k: string) => Number(r.rows.find((x) => x.kind === k)!.gasUsed);
  if (results.length >= 2) {
    const [a, b] = [results[0]!, results[results.length - 1]!];
    const perSlot = (byKind(b, "trades") - byKind(a, "trades")) / (b.slots - a.slots);
    const fixed = byKind(a, "trades") - perSlot * a.slots;
    console.log(
      `\nLinear fit through the trade batches: ≈ ${int(fixed)} gas per batch + ${int(perSlot)} gas per trade slot ` +
        `(extrapolated: ${[16, 32, 64].map((s) => `${s} slots ≈ ${int(fixed / s + perSlot)} gas/trade`).join(", ")}).`,
    );
  }
  await connection.close?.();
  return results;
}

if (isMainModule(import.meta.url)) {
  const arg = process.argv[2];
  await runGas({ slots: arg ? arg.split(",").map(Number) : undefined });
  process.exit(0); // snarkjs worker threads and the Hardhat network keep the event loop alive
}
