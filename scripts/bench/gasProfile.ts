/**
 * `npm run bench:gas-profile`: where the gas of a `submitBatches` transaction goes, at production size. On an
 * in-process Hardhat chain, a custodian with PRODUCTION_PARAMS (18 spot + 4 derivatives slots, 16 instruments: 1,107
 * bytes of public data, 36 public inputs; 1,003 and 33 when the profile was first taken, with 7 instruments and no
 * marks key) verifies with the generated batched verifier of a stand-in circuit with the
 * same public inputs (scripts/bench/inputsCircuit.ts: the verifier's code and gas depend only on the input
 * count, the proof count and the input values, so its proofs are real proofs of the real public inputs, made in a
 * fraction of a second). The batches are the throughput bench's (`npm run bench:throughput`): 16 traders,
 * registered and funded through proven request batches, then full batches of 18 spot trades and 4 perpetual
 * trades, each with a signed oracle update, built by the sequencer's batch builder from its exchange state.
 *
 * Posted as one `submitBatch` and as `submitBatches` of k = 1, 3, 8 (each from the same chain snapshot), every
 * transaction is traced (debug_traceTransaction) and each opcode's gas charged to its Solidity source line
 * (scripts/bench/traceProfile.ts), then to a category: calldata, the verifier's parts (public-input MSM,
 * Fiat-Shamir scalars, pairing, copies), the custodian's per-batch work and the fixed part.
 *
 *   npm run bench:gas-profile [-- --batches=1,3,8] [--lines=25]
 *
 * --lines: how many of the costliest source lines of the largest transaction to list (0: none).
 */
import { execFileSync } from "node:child_process";
import { network } from "hardhat";
import { encodeFunctionData, erc20Abi, type Address, type Hex, type PublicClient, type WalletClient } from "viem";
import { poseidonContract } from "circomlibjs";
import { compileVerifierStandardJson } from "../build/verifierContract.ts";
import { batchVerifierName, writeBatchVerifier } from "../build/batchVerifierContract.ts";
import { custodianAbi, DEMO_ETH_PERPETUAL, deployDemoExchange, readArtifact, registerInstrument, send, setOracleKey, type Clients } from "../deploy/deployExchange.ts";
import { buildBatch, type BuiltBatch } from "../../sequencer/batch/batchWitness.ts";
import { CustodianClient } from "../../sequencer/chain/custodianClient.ts";
import { fetchRequests } from "../../sequencer/chain/requests.ts";
import { publicKeyOf } from "../../sequencer/crypto/babyjub.ts";
import { signOracleUpdate } from "../../sequencer/derivatives/oracleSigner.ts";
import type { CalldataProof } from "../../sequencer/protocol/calldataProof.ts";
import { OrderType, Side, TimeInForce, TxType, instrumentMarketId } from "../../sequencer/protocol/constants.ts";
import { PRODUCTION_PARAMS, publicDataBytes } from "../../sequencer/protocol/params.ts";
import { publicInputCount } from "../../sequencer/protocol/publicData.ts";
import { signOrder, signTransfer } from "../../sequencer/protocol/signing.ts";
import type { BatchTx } from "../../sequencer/protocol/transactions.ts";
import { sliceTable } from "../../sequencer/protocol/volSlices.ts";
import { ExchangeState } from "../../sequencer/state/exchangeState.ts";
import { isMainModule } from "../lib/mainModule.ts";
import { trader, type Trader } from "./fixtures.ts";
import { buildInputsCircuit, type InputsCircuit } from "./inputsCircuit.ts";
import { codeSources, hardhatCodeSources, profileTransaction, type Site, type TxProfile } from "./traceProfile.ts";
import { calldataGas, int, machineLine, progress, ROOT, section, table } from "./util.ts";

const PARAMS = PRODUCTION_PARAMS;
const TRADERS = 16;
const USDC = 10n ** 6n;
const ETH = 10n ** 18n;
/** The throughput bench's prices: 3,000 USDC per WETH on the spot market and the perpetual. */
const PRICE_TICKS = 300_000n;
const INDEX_E8 = 3_000n * 10n ** 8n;
const EXPIRY = 4_000_000_000;
/** The bench oracle's key: a fixed development key, INSECURE. */
const ORACLE_KEY = new Uint8Array(32).fill(9);

/** A proven batch ready to post. */
type Ready = { publicData: Uint8Array; proof: CalldataProof; trades: number };

/** The chain, the exchange and the trade batches the profiles post (from the same snapshot each). */
type Setup = {
  provider: Awaited<ReturnType<typeof network.create>>["provider"];
  publicClient: PublicClient;
  client: CustodianClient;
  custodian: Address;
  restore: () => Promise<void>;
  firstBatch: number;
  batches: Ready[];
};

/**
 * Deploys the exchange at production size in front of `circuit`'s verifier, onboards the traders through proven
 * request batches, then builds and proves `count` full trade batches (not posted).
 */
async function prepare(connection: Awaited<ReturnType<typeof network.create>>, circuit: InputsCircuit, count: number): Promise<Setup> {
  const { viem, provider, networkHelpers } = connection;
  const publicClient = (await viem.getPublicClient()) as unknown as PublicClient;
  const wallets = (await viem.getWalletClients()) as unknown as WalletClient[];
  const operator = wallets[0]!;
  const as = (w: WalletClient): Clients => ({ publicClient, walletClient: w });
  const d = await deployDemoExchange(as(operator), { params: PARAMS, verifierSol: circuit.build.verifierSol, operator: operator.account!.address, refuseExits: true });
  const client = new CustodianClient({ publicClient, walletClient: operator, custodian: d.custodian });
  const token = readArtifact("test/TestToken.sol", "TestToken");

  progress(`gas profile: onboarding ${TRADERS} traders`);
  const traders = Array.from({ length: TRADERS }, (_, i) => ({ ...trader(i + 1), wallet: wallets[i + 1]! }));
  for (const t of traders) {
    await send(as(t.wallet), d.custodian, custodianAbi, "registerTradingKey", [...t.pubKey]);
    for (const [address, tokenId, amount] of [[d.usdc, 0, 10_000_000n * USDC], [d.weth, 1, 1_000n * ETH]] as const) {
      await send(as(operator), address, token.abi, "mint", [t.wallet.account!.address, amount]);
      await send(as(t.wallet), address, erc20Abi, "approve", [d.custodian, amount]);
      await send(as(t.wallet), d.custodian, custodianAbi, "deposit", [tokenId, amount]);
    }
  }
  await setOracleKey(as(operator), d.custodian, publicKeyOf(ORACLE_KEY));
  const perpetual = await registerInstrument(as(operator), d.custodian, DEMO_ETH_PERPETUAL);

  const state = new ExchangeState(PARAMS);
  let batchNumber = 0;
  let cursor = 0;
  const now = async () => Math.max(Number((await publicClient.getBlock()).timestamp), await client.lastTimestamp());
  const oracle = (time: number) => signOracleUpdate(ORACLE_KEY, {
    time, fundingEpoch: 0, prices: Array.from({ length: PARAMS.underlyings }, () => INDEX_E8),
    volSlices: sliceTable([], PARAMS.optionInstruments), rates: Array.from({ length: PARAMS.instruments }, () => 0n), settlement: null,
  });
  const build = async (txs: BatchTx[], timestamp: number, withOracle: boolean): Promise<{ batch: BuiltBatch; proof: CalldataProof }> => {
    const batch = buildBatch(state, txs, { batchNumber: batchNumber++, timestamp, oracle: withOracle ? oracle(timestamp) : undefined });
    return { batch, proof: await circuit.prove(batch.publicInputs) };
  };
  const post = async (txs: BatchTx[], withOracle = false) => {
    const { batch, proof } = await build(txs, await now(), withOracle);
    if (!(await client.submitBatch(batchNumber - 1, batch.publicData, proof))) throw new Error(`set-up batch ${batchNumber - 1} was not posted`);
  };

  // The queued requests, in queue order, as many per batch as the slots of each class hold.
  const requests = (await fetchRequests(publicClient, d.custodian, cursor)).map((r) => r.tx);
  cursor += requests.length;
  while (requests.length) {
    const take: BatchTx[] = [];
    let [spot, deriv] = [0, 0];
    while (requests.length) {
      const isDeriv = requests[0]!.type === TxType.REGISTER_INSTRUMENT;
      if (isDeriv ? deriv === PARAMS.derivSlots : spot === PARAMS.slots) break;
      isDeriv ? deriv++ : spot++;
      take.push(requests.shift()!);
    }
    progress(`gas profile: set-up batch ${batchNumber} (${take.length} requests)`);
    await post(take);
  }
  // Collateral for the perpetual traders (a transfer is a derivatives transaction: derivSlots per batch).
  const nonces = new Map<number, number>();
  const transfers: BatchTx[] = traders.map((t) => {
    const nonce = nonces.get(t.accountId) ?? 0;
    nonces.set(t.accountId, nonce + 1);
    return { type: TxType.TRANSFER, request: signTransfer(t.key, { accountId: t.accountId, toCollateral: true, amount: 1_000_000n * USDC, nonce }) };
  });
  for (let i = 0; i < transfers.length; i += PARAMS.derivSlots) {
    progress(`gas profile: set-up batch ${batchNumber} (collateral transfers)`);
    await post(transfers.slice(i, i + PARAMS.derivSlots), true);
  }

  // Trade batches: trader 2p sells to trader 2p + 1 (pairs in turn), one lot each, on the spot market, then on the perpetual.
  const orderIds = new Map<number, bigint>();
  const order = (t: Trader, side: Side, perp: boolean) => {
    const orderId = (orderIds.get(t.accountId) ?? 0n) + 1n;
    orderIds.set(t.accountId, orderId);
    return signOrder(t.key, {
      accountId: t.accountId, orderId, side, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, sizeLots: 1n, maxFeePpm: 1000, expiry: EXPIRY,
      priceTicks: PRICE_TICKS, marketId: perp ? instrumentMarketId(perpetual, 0, PARAMS.instruments) : d.marketId,
    });
  };
  let pair = 0;
  const trade = (perp: boolean): BatchTx => {
    const p = pair++ % (TRADERS / 2);
    const [seller, buyer] = [traders[2 * p]!, traders[2 * p + 1]!];
    const [buy, sell] = [order(buyer, Side.BUY, perp), order(seller, Side.SELL, perp)];
    return { type: perp ? TxType.DERIV_TRADE : TxType.TRADE, buy, sell, lots: 1n, priceTicks: PRICE_TICKS, buyFeePpm: 500, sellFeePpm: 100 } as BatchTx;
  };
  const firstBatch = batchNumber;
  const start = await now();
  const batches: Ready[] = [];
  for (let i = 0; i < count; i++) {
    progress(`gas profile: trade batch ${batchNumber} (${PARAMS.slots} spot + ${PARAMS.derivSlots} perpetual trades, oracle update), proving the stand-in`);
    const txs = [...Array.from({ length: PARAMS.slots }, () => trade(false)), ...Array.from({ length: PARAMS.derivSlots }, () => trade(true))];
    const { batch, proof } = await build(txs, start + i, true);
    batches.push({ publicData: batch.publicData, proof, trades: txs.length });
  }
  await networkHelpers.time.increaseTo(start + count);
  const snapshot = await networkHelpers.takeSnapshot();
  return { provider, publicClient, client, custodian: d.custodian, restore: () => snapshot.restore(), firstBatch, batches };
}

/** One profiled transaction: what it posted, its profile, its calldata split. */
export type Profiled = { label: string; k: number; trades: number; profile: TxProfile; calldata: { publicData: number; proofs: number; framing: number } };

/** Calldata gas of the posted public data, of the proofs, and the rest (selector, offsets, lengths, padding). */
export function calldataSplit(input: Hex, batches: readonly { publicData: Uint8Array | Hex; proof: readonly bigint[] }[]): Profiled["calldata"] {
  const total = calldataGas(input).gas;
  const publicData = batches.reduce((s, b) => s + calldataGas(b.publicData).gas, 0);
  const word = (x: bigint) => calldataGas(`0x${x.toString(16).padStart(64, "0")}`).gas;
  const proofs = batches.reduce((s, b) => s + b.proof.reduce((t, x) => t + word(x), 0), 0);
  return { publicData, proofs, framing: total - publicData - proofs };
}

/** The report's categories, in print order: [key, label, what it grows with]. */
export const CATEGORIES = [
  ["base", "transaction base cost", "tx"],
  ["cd.data", "calldata: the public data", "batch"],
  ["cd.proof", "calldata: the proofs (256 bytes each)", "batch"],
  ["cd.abi", "calldata: selector, offsets, lengths, padding", "tx"],
  ["c.entry", "custodian: dispatch, calldata decoding, role check, reentrancy guard, loop", "tx"],
  ["c.call", "custodian: input array, ABI-encoding the verifier call (copying the inputs)", "tx"],
  ["c.header", "custodian: origin, exodus, length, header decode, root/number/time checks", "batch"],
  ["c.oracle", "custodian: oracle section check (BatchRecords.checkOracle, a library call)", "batch"],
  ["c.records", "custodian: record walk, request-queue check (BatchRecords.checkRecords, a library call)", "batch"],
  ["c.apply", "custodian: applying records (CustodianPayouts.applyRecords)", "batch"],
  ["c.state", "custodian: state writes (root, batch count, time, processed requests, forced)", "batch"],
  ["c.prices", "custodian: prices (CustodianPayouts.storePrices) and free instruments", "batch"],
  ["c.event", "custodian: BatchSubmitted event (sha256 of the public data, LOG)", "batch"],
  ["c.inputs", "custodian: public data -> public inputs (PublicData.writePublicInputs)", "batch"],
  ["v.copy", "verifier: dispatch, calldata decoding", "tx"],
  ["v.range", "verifier: range checks of the proofs' coordinates (< Q)", "batch"],
  ["v.fs", "verifier: Fiat-Shamir (keccak seed over proofs and inputs, r_i)", "batch"],
  ["v.proof", "verifier: -r_i A_i and sum r_i C_i (ecMul, ecAdd), sum r_i", "batch"],
  ["v.sum", "verifier: input combination (sum_i r_i x_ij mod R) and the inputs' range check (< R)", "batch"],
  ["v.scale", "verifier: alpha and IC0 times sum r_i (2 ecMul, k > 1)", "tx"],
  ["v.msm", "verifier: public-input MSM (ecMul + ecAdd per non-zero combined input)", "tx"],
  ["v.pairing", "verifier: pairing precompile (45,000 + 34,000 per pair, k + 3 pairs)", "batch"],
  ["v.pairs", "verifier: pairing input assembly, result", "tx"],
  ["refund", "refund (storage restored: the reentrancy guard)", "tx"],
  ["other", "other", "tx"],
] as const;
/** A category's key. */
export type Category = (typeof CATEGORIES)[number][0];

/** Is this function a phase mark (see traceProfile.ts): the custodian's batch steps, the verifier's body and its helpers. */
export const isPhase = (fn: string) =>
  /^Custodian\.(submitBatch|submitBatches|_submitBatch|_checkOracle|_checkRecords|_applyRecords|_storePrices|_storeFreeInstruments|_admitWaiting)$/.test(fn)
  || /^PublicData\.writePublicInputs$/.test(fn)
  || /^BatchGroth16Verifier_\w+\.(_verify|verifyProof|verifyProofs|verifyFlatProof|_allBelow|_seed|_scalar|_accumulate|_msm)$/.test(fn);

/** The verifier's category of a step whose phase is `f` (a function of the verifier) at line text `t`. */
function verifierCategory(s: Site, f: string, t: string): Category {
  if (s.precompile === "ecPairing") return "v.pairing";
  if (/^verify/.test(f)) return "v.copy";
  if (f === "_allBelow") return "v.range";
  if (f === "_seed" || f === "_scalar") return "v.fs";
  if (f === "_accumulate") return "v.sum";
  if (f === "_msm") return "v.msm";
  // _verify's own lines, and the helpers they call (_mul, _mulAdd, _copyB, _word, _setPair)
  if (/_allBelow|k == 0 \|\|/.test(t)) return "v.range";
  if (/_seed\(|_scalar\(/.test(t)) return "v.fs";
  if (/sumX|_accumulate/.test(t)) return "v.sum";
  if (/_msm\(/.test(t)) return "v.msm";
  if (/ALPHA_X, ALPHA_Y, sumR|IC0X, IC0Y, sumR|sumR != 1|if \(!ok\) return false;/.test(t)) return "v.scale";
  if (/_mul\(_word\(p\)|_mulAdd\(sumC|sumR = |_copyB|uint256 [po] = |sumC = |pairs\[0\]|uint256 i = 1/.test(t)) return "v.proof";
  return "v.pairs";
}

/** The category of a step, from its phase line (and its function where the phase says little). */
function categorize(s: Site): Category {
  const p = s.phase;
  if (!p) return s.code.startsWith("BatchGroth16Verifier") ? "v.copy" : "c.entry";
  const f = p.fn.replace(/^\w+\./, "");
  const t = p.text;
  if (p.code.startsWith("BatchGroth16Verifier")) return verifierCategory(s, f, t);
  if (f === "writePublicInputs") return "c.inputs";
  if (f === "_checkOracle") return "c.oracle";
  if (f === "_checkRecords") return "c.records";
  if (f === "_applyRecords" || f === "_admitWaiting") return "c.apply";
  if (f === "_storePrices" || f === "_storeFreeInstruments") return "c.prices";
  if (f === "_submitBatch") {
    if (/emit BatchSubmitted/.test(t)) return "c.event";
    if (/^(stateRoot|batchCount|lastTimestamp|processedRequests|openForcedRequests) /.test(t)) return "c.state";
    if (/_admitWaiting|_applyRecords/.test(t)) return "c.apply";
    if (/_storePrices|_storeFreeInstruments/.test(t)) return "c.prices";
    if (/_checkOracle/.test(t)) return "c.oracle";
    if (/_checkRecords|firstRequest = /.test(t)) return "c.records";
    return "c.header";
  }
  if (/verifier\.verify|new uint256\[\]|inputs = /.test(t)) return "c.call";
  return "c.entry";
}

/** Gas of `p` by category (the transaction base and calldata from its input; refunds negative); sums to gasUsed. */
export function byCategory(p: Profiled): Map<Category, number> {
  const m = new Map<Category, number>(CATEGORIES.map(([c]) => [c, 0]));
  const add = (c: Category, g: number) => m.set(c, m.get(c)! + g);
  add("base", 21_000);
  add("cd.data", p.calldata.publicData);
  add("cd.proof", p.calldata.proofs);
  add("cd.abi", p.calldata.framing);
  for (const { site, gas } of p.profile.sites) add(categorize(site), gas);
  add("refund", -p.profile.refund);
  // What the intrinsic gas holds beyond 21,000 + calldata (an access list, say; none here) would show here.
  add("other", p.profile.intrinsic - 21_000 - p.calldata.publicData - p.calldata.proofs - p.calldata.framing);
  return m;
}

/** Posts batches `[0, k)` of `s` (one submitBatch when `single`), from the snapshot, and profiles the transaction. */
async function postAndProfile(s: Setup, k: number, single: boolean, sources: ReturnType<typeof hardhatCodeSources>): Promise<Profiled> {
  await s.restore();
  const chosen = s.batches.slice(0, k);
  const hash = single
    ? await s.client.submitBatch(s.firstBatch, chosen[0]!.publicData, chosen[0]!.proof)
    : await s.client.submitBatches(s.firstBatch, chosen);
  if (!hash) throw new Error("nothing was posted");
  const tx = await s.publicClient.getTransaction({ hash });
  const profile = await profileTransaction(s.provider, s.publicClient, hash, sources, isPhase);
  const label = single ? "submitBatch" : `submitBatches, k = ${k}`;
  return { label, k, trades: chosen.reduce((n, b) => n + b.trades, 0), profile, calldata: calldataSplit(tx.input, chosen) };
}

/** Gas of one call of a circomlibjs Poseidon contract with `n` inputs (execution only: 21,000 and calldata left out). */
async function poseidonGas(viem: Awaited<ReturnType<typeof network.create>>["viem"], n: number): Promise<number> {
  const publicClient = await viem.getPublicClient();
  const [w] = await viem.getWalletClients();
  const abi = poseidonContract.generateABI(n);
  const hash = await w.deployContract({ abi, bytecode: poseidonContract.createCode(n) as Hex });
  const at = (await publicClient.waitForTransactionReceipt({ hash })).contractAddress!;
  const data = encodeFunctionData({ abi, functionName: "poseidon", args: [Array.from({ length: n }, (_, i) => BigInt(i + 1) * 10n ** 70n)] });
  const gas = await publicClient.estimateGas({ account: w.account, to: at, data });
  return Number(gas) - 21_000 - calldataGas(data).gas;
}

/** Runs the profile and prints its tables; returns the profiled transactions. */
export async function runGasProfile(opts: { ks?: number[]; lines?: number } = {}): Promise<Profiled[]> {
  const ks = opts.ks ?? [1, 3, 8];
  const nInputs = publicInputCount(publicDataBytes(PARAMS));
  progress("gas profile: hardhat compile (incremental)");
  execFileSync(`${ROOT}/node_modules/.bin/hardhat`, ["compile", "--quiet"], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
  progress(`gas profile: the stand-in circuit with ${nInputs} public inputs (cached after the first build)`);
  const circuit = await buildInputsCircuit(nInputs);
  const verifierSol = writeBatchVerifier(circuit.build.verifierSol);
  const verifierJson = compileVerifierStandardJson(verifierSol, ["evm.deployedBytecode.object", "evm.deployedBytecode.sourceMap"], ["ast"]);
  const sources = [...hardhatCodeSources(ROOT), ...codeSources(verifierJson.input, verifierJson.output)];

  const connection = await network.create();
  const setup = await prepare(connection, circuit, Math.max(...ks));
  const runs: Profiled[] = [await postAndProfile(setup, 1, true, sources)];
  for (const k of ks) runs.push(await postAndProfile(setup, k, false, sources));
  const poseidon = { t3: await poseidonGas(connection.viem, 2), t6: await poseidonGas(connection.viem, 5) };
  await connection.close?.();

  section(`Gas profile of submitBatches at production size (${PARAMS.slots} + ${PARAMS.derivSlots} slots)`);
  console.log(machineLine());
  const pd = publicDataBytes(PARAMS);
  console.log(
    `\nPublic data ${int(pd)} bytes per batch (${nInputs} public inputs of 31 bytes); every batch holds ${PARAMS.slots} spot and ${PARAMS.derivSlots} perpetual trades ` +
      `and a signed oracle update. Verifier: ${batchVerifierName(circuit.build.contractName.replace(/^Groth16Verifier_/, ""))}, generated from a stand-in circuit with the same ${nInputs} ` +
      `public inputs, real proofs of the batches' real inputs. Each transaction posted from the same chain state and traced opcode by opcode ` +
      `(gas per category; "per batch" = the transaction's gas / k).\n`,
  );
  const cats = runs.map(byCategory);
  const perTrade = (r: Profiled, g: number) => int(g / r.trades);
  const rows = CATEGORIES.map(([c, label, scope]) => [label, scope, ...cats.map((m, i) => `${int(m.get(c)!)} (${perTrade(runs[i]!, m.get(c)!)})`)]);
  rows.push(["**total (gasUsed)**", "", ...runs.map((r) => `**${int(r.profile.gasUsed)}** (**${perTrade(r, Number(r.profile.gasUsed))}**)`)]);
  console.log(table(["category", "grows with", ...runs.map((r) => `${r.label}: gas (per trade)`)], rows, ["l", "l", ...runs.map(() => "r" as const)]));
  for (const [i, r] of runs.entries()) {
    const sum = [...cats[i]!.values()].reduce((a, b) => a + b, 0);
    if (sum !== Number(r.profile.gasUsed)) throw new Error(`${r.label}: categories sum to ${sum}, gasUsed is ${r.profile.gasUsed}`);
  }

  // Precompile calls, counted.
  const pre = runs.map((r) => {
    const m = new Map<string, { n: number; gas: number }>();
    for (const { site, gas, count } of r.profile.sites) {
      if (!site.precompile) continue;
      const e = m.get(site.precompile) ?? { n: 0, gas: 0 };
      m.set(site.precompile, { n: e.n + count, gas: e.gas + gas });
    }
    return m;
  });
  const names = [...new Set(pre.flatMap((m) => [...m.keys()]))].sort();
  console.log("\nPrecompile calls (calls / gas):\n");
  console.log(table(["precompile", ...runs.map((r) => r.label)], names.map((n) => [n, ...pre.map((m) => (m.get(n) ? `${m.get(n)!.n} / ${int(m.get(n)!.gas)}` : "-"))])));

  // Marginal cost of a batch: the fit through the submitBatches rows.
  const multi = runs.filter((r) => r.label.startsWith("submitBatches"));
  if (multi.length >= 2) {
    const [a, b] = [multi[0]!, multi[multi.length - 1]!];
    const perBatch = Number(b.profile.gasUsed - a.profile.gasUsed) / (b.k - a.k);
    const fixed = Number(a.profile.gasUsed) - perBatch * a.k;
    const tradesPerBatch = a.trades / a.k;
    console.log(
      `\nsubmitBatches between k = ${a.k} and k = ${b.k}: ${int(perBatch)} gas per further batch (${int(perBatch / tradesPerBatch)} per trade) ` +
        `and ${int(fixed)} per transaction: about ${int(perBatch / tradesPerBatch)} + ${int(fixed / tradesPerBatch)} / k gas per trade.`,
    );
    console.log("\nPer category, what one more batch adds (k = " + `${a.k} to ${b.k}, per batch and per trade):\n`);
    const ia = runs.indexOf(a);
    const ib = runs.indexOf(b);
    console.log(table(
      ["category", "per batch", "per trade"],
      CATEGORIES.map(([c, label]) => {
        const g = (cats[ib]!.get(c)! - cats[ia]!.get(c)!) / (b.k - a.k);
        return [label, int(g), int(g / tradesPerBatch)];
      }).filter((r) => r[1] !== "0"),
    ));
  }

  console.log(
    `\nOn-chain hashing, for the lever "one public input, a hash of the public data" (${int(pd)} bytes = ${Math.ceil(pd / 32)} words): ` +
      `sha256 precompile ${int(60 + 12 * Math.ceil(pd / 32))} gas, keccak256 ${int(30 + 6 * Math.ceil(pd / 32))} gas (plus copying the data to memory); ` +
      `circomlibjs Poseidon contracts: ${int(poseidon.t3)} gas per 2-input call, ${int(poseidon.t6)} per 5-input call ` +
      `(a sponge over ${nInputs} chunks: ${Math.ceil((nInputs - 1) / 4)} 5-input calls = ${int(Math.ceil((nInputs - 1) / 4) * poseidon.t6)} gas).`,
  );

  const lines = opts.lines ?? 25;
  if (lines > 0) {
    const last = runs[runs.length - 1]!;
    // Sites grouped by what they run: a precompile, a source text (the same text on several lines counted once, with
    // its line count), or compiler-generated code (by the phase it ran in).
    const bySite = new Map<string, { gas: number; lines: Set<number> }>();
    for (const { site, gas } of last.profile.sites) {
      const where = site.text ? `${site.file} \`${site.text.slice(0, 90)}\`` : `(compiler-generated, in ${site.phase ? `${site.phase.fn} \`${site.phase.text.slice(0, 60)}\`` : site.code})`;
      const key = `${site.precompile ? `[${site.precompile}] ` : ""}${where}`;
      const e = bySite.get(key) ?? { gas: 0, lines: new Set<number>() };
      e.gas += gas;
      e.lines.add(site.line);
      bySite.set(key, e);
    }
    const top = [...bySite].sort((x, y) => y[1].gas - x[1].gas).slice(0, lines);
    console.log(`\nThe ${lines} costliest source lines of ${last.label} (gas charged where it ran; a precompile's own gas apart; "x n": the same text on n lines):\n`);
    console.log(table(
      ["source", "gas", "per trade"],
      top.map(([k, e]) => [`${k.replace(/\|/g, "\\|")}${e.lines.size > 1 ? ` x ${e.lines.size}` : ""}`, int(e.gas), int(e.gas / last.trades)]),
      ["l", "r", "r"],
    ));
  }
  return runs;
}

if (isMainModule(import.meta.url)) {
  const args = process.argv.slice(2);
  const flag = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
  await runGasProfile({ ks: flag("batches")?.split(",").map(Number), lines: flag("lines") === undefined ? undefined : Number(flag("lines")) });
  process.exit(0); // snarkjs worker threads and the Hardhat network keep the event loop alive
}
