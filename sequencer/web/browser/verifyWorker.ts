/**
 * The explorer's worker: runs the independent chain verifier (verifier/chainVerifier.ts, the same code as
 * `npm run verify`) in the browser, from chain data alone. Every batch's Groth16 proof is verified here with
 * snarkjs, its public data decoded record by record (protocol/publicData.ts) and replayed with the
 * sequencer's own state transition; the rebuilt state then answers account and custody questions.
 *
 * Messages in:  {op: "verify", rpcUrl, chainId, custodian, params: "test" | "devnet" | "production", vkey}
 *               {op: "account", accountId}: its balances, collateral, positions (each with whom a forced close of it would
 *               name: sdk/forcedClose.ts#closeCounterparty on the rebuilt state) and the records naming it
 *               {op: "exit", accountId, prices}: the account's exit claim by the exit rule on the rebuilt state
 *               (exit/exitWitness.ts), proven with the exit circuit served at /web/exit.wasm and /web/exit.zkey
 * Messages out: {type: "ready"} once loaded (the page waits for it: a module worker that awaits at its top level, as
 *               babyjub.ts and poseidon.ts do, would drop messages sent before);
 *               {type: "batch", check, records, timestamp} per batch as it is checked; {type: "gas", batchNumber, gasUsed};
 *               {type: "done", ok, mismatches, chainRoot, finalRoot, custody}; {type: "account", ...}; {type: "exitProof", accountId, amounts, pooledQuote, derivativesClaim, proof}; {type: "error", op, message}
 */
import { erc20Abi, type Address, type PublicClient } from "viem";
import { custodianAbi } from "../../chain/abi.ts";
import { PARAMS_SETS, type ParamsName } from "../../protocol/params.ts";
import type { SlotRecord } from "../../protocol/publicData.ts";
import { TxType } from "../../protocol/constants.ts";
import type { ExchangeState } from "../../state/exchangeState.ts";
import { verifyChain } from "../../verifier/chainVerifier.ts";
import * as snarkjs from "snarkjs";
import { exitWitness } from "../../exit/exitWitness.ts";
import { toCalldataProof } from "../../protocol/calldataProof.ts";
import { signalsMismatch } from "../../../fpga-prover/prover.ts";
import { publicClientOf } from "./common.ts";
import { closeCounterparty } from "../../sdk/forcedClose.ts";
import { custodyClaims, pendingRemainders } from "../../verifier/custody.ts";
import { DEFAULT_LOG_RANGE, logsInRanges } from "../../chain/logs.ts";

type Post = (msg: unknown) => void;
const post: Post = (msg) => (self as unknown as { postMessage: Post }).postMessage(msg);

let state: ExchangeState | null = null;
const history: { batchNumber: number; index: number; record: SlotRecord }[] = [];

/** Whether a decoded record names the account (any of its account fields). */
export function recordMentions(record: SlotRecord, accountId: number): boolean {
  return Object.entries(record).some(([k, v]) => /account/i.test(k) && BigInt(v as bigint | number) === BigInt(accountId));
}

/** The exits' spot remainders still waiting, per token (the custodian's ExitRemainderRecorded less ExitRemainderPaid events). */
async function exitRemainders(pc: PublicClient, custodian: Address): Promise<Map<number, bigint>> {
  const head = await pc.getBlockNumber({ cacheTime: 0 });
  const events = (eventName: "ExitRemainderRecorded" | "ExitRemainderPaid") =>
    logsInRanges(0n, head, DEFAULT_LOG_RANGE, (fromBlock, toBlock) => pc.getContractEvents({ address: custodian, abi: custodianAbi, eventName, fromBlock, toBlock, strict: true }));
  const amounts = (logs: readonly { args: { tokenId: number; amount: bigint } }[]) => logs.map((l) => ({ tokenId: l.args.tokenId, amount: l.args.amount }));
  return pendingRemainders(amounts(await events("ExitRemainderRecorded")), amounts(await events("ExitRemainderPaid")));
}

async function custody(pc: PublicClient, custodian: Address, st: ExchangeState) {
  const count = Number(await pc.readContract({ address: custodian, abi: custodianAbi, functionName: "tokenCount" } as never));
  // In exodus, an account that has exited was paid its exit (to its owner's withdrawable, inside `owed` until
  // pulled): its balances in the state are no longer claims on the custodian.
  const all = st.accountIds();
  const exited = await Promise.all(all.map((id) => pc.readContract({ address: custodian, abi: custodianAbi, functionName: "exited", args: [id] } as never) as Promise<boolean>));
  const ids = all.filter((_, i) => !exited[i]);
  const paidOfPot = (await pc.readContract({ address: custodian, abi: custodianAbi, functionName: "exodusDerivativesPaid" } as never)) as bigint;
  // In exodus, what exits recorded as not paid (their spot remainders) is still owed, though in no balance and not in `owed`.
  const remainders = exited.some(Boolean) ? await exitRemainders(pc, custodian) : new Map<number, bigint>();
  const out = [];
  for (let t = 0; t < count; t++) {
    const token = (await pc.readContract({ address: custodian, abi: custodianAbi, functionName: "tokens", args: [t] } as never)) as Address;
    const holdings = await pc.readContract({ address: token, abi: erc20Abi, functionName: "balanceOf", args: [custodian] });
    const owed = (await pc.readContract({ address: custodian, abi: custodianAbi, functionName: "owed", args: [t] } as never)) as bigint;
    const { balances, pooled, remainders: pending, claims } = custodyClaims(st, t, ids, owed, paidOfPot, remainders.get(t) ?? 0n);
    out.push({ tokenId: t, token, holdings, exitedAccounts: exited.filter(Boolean).length, balances, pooled, owed, remainders: pending, claims, openBadDebt: t === 0 ? st.globals.badDebt : 0n });
  }
  return out;
}

async function verify(msg: { rpcUrl: string; chainId: number; custodian: Address; params: ParamsName; vkey: unknown }): Promise<void> {
  const pc = publicClientOf({ rpcUrl: msg.rpcUrl, chainId: msg.chainId, custodian: msg.custodian, params: msg.params, devWallets: false, api: false });
  const params = PARAMS_SETS[msg.params];
  history.length = 0;
  const recordsOf = new Map<number, SlotRecord[]>();
  const report = await verifyChain({
    publicClient: pc, custodian: msg.custodian, params, vkey: msg.vkey,
    transformRecords: (n, records) => void recordsOf.set(n, records.map((r) => ({ ...r }))),
    onProgress: ({ batch, done, total }) => {
      const records = (recordsOf.get(batch.batchNumber) ?? []).filter((r) => r.type !== TxType.NOOP);
      records.forEach((record, index) => history.push({ batchNumber: batch.batchNumber, index, record }));
      post({ type: "batch", check: batch, records, done, total });
      void pc.getTransactionReceipt({ hash: batch.txHash }).then((r) => post({ type: "gas", batchNumber: batch.batchNumber, gasUsed: r.gasUsed }));
    },
  });
  state = report.state;
  post({
    type: "done", ok: report.ok, mismatches: report.mismatches, chainRoot: report.chainRoot, finalRoot: report.finalRoot,
    batchesChecked: report.batchesChecked, custody: await custody(pc, msg.custodian, report.state),
  });
}

function account(accountId: number): void {
  if (!state) throw new Error("verify the chain first: the account is read from the rebuilt state");
  if (!state.accountIds().includes(accountId)) throw new Error(`account ${accountId} is not in the rebuilt state`);
  const tokens = 4 ** state.params.balanceLevels;
  const acc = state.account(accountId);
  post({
    type: "account", accountId,
    balances: Array.from({ length: tokens }, (_, t) => ({ tokenId: t, amount: state!.balance(accountId, t) })).filter((b) => b.amount !== 0n),
    collateral: acc.deriv.collateral,
    positions: acc.deriv.positions
      .map((p, i) => ({ instrumentId: i, size: p.size }))
      .filter((p) => p.size !== 0n)
      .map((p) => ({ ...p, closeAgainst: closeCounterparty(state!, accountId, p.instrumentId) })),
    history: history.filter((h) => recordMentions(h.record, accountId)),
  });
}

async function proveExitHere(accountId: number, prices: readonly bigint[]): Promise<void> {
  if (!state) throw new Error("verify the chain first: the exit is proven against the rebuilt state");
  const { claim, input, publicInputs } = exitWitness(state, accountId, prices, state.params);
  const at = (path: string) => new URL(path, self.location.href).href;
  const { proof, publicSignals } = await snarkjs.groth16.fullProve(input, at("/web/exit.wasm"), at("/web/exit.zkey"));
  const mismatch = signalsMismatch(publicSignals, publicInputs.map(String));
  if (mismatch) throw new Error(`the exit proof's public inputs are not the claim's: ${mismatch}`);
  const vkey = await (await fetch(at("/web/exit-vkey.json"))).json();
  if (!(await snarkjs.groth16.verify(vkey, publicSignals, proof))) throw new Error("the exit proof does not verify");
  post({ type: "exitProof", accountId, amounts: claim.amounts, pooledQuote: claim.pooledQuote, derivativesClaim: claim.derivativesClaim, proof: toCalldataProof(proof) });
}

self.onmessage = (e: MessageEvent) => {
  const msg = e.data as { op: string } & Record<string, any>;
  const run = async () => {
    if (msg.op === "verify") await verify(msg as never);
    else if (msg.op === "account") account(Number(msg.accountId));
    else if (msg.op === "exit") await proveExitHere(Number(msg.accountId), msg.prices as bigint[]);
    else throw new Error(`unknown op ${msg.op}`);
  };
  run().catch((err) => post({ type: "error", op: msg.op, message: err instanceof Error ? err.message : String(err) }));
};

post({ type: "ready" });
