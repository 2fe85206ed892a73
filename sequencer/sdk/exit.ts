/**
 * Leaving without the operator (issue 12): the trader's side of exodus mode, on chain data alone.
 *
 * - `forceWithdraw` / `forceWithdrawCollateral` queue a forced withdrawal on the custodian. The operator must
 *   prove it (honoured, or refused when the state cannot honour it) within the custodian's request deadline;
 *   if no batch consumes it by then, anyone may switch the custodian to exodus mode.
 * - `activateExodus` does that switch, once the oldest unprocessed request is past its deadline.
 * - `exitAccount` is the exit itself: it rebuilds the state from the custodian's events and batch calldata
 *   (the independent verifier's code, sequencer/verifier/chainVerifier.ts: no sequencer, API or data
 *   directory is involved), values the account by the exit rule (sequencer/exit/exitRule.ts) at the last
 *   proven prices the custodian stored, proves the claim with the exit circuit, sends it, and pulls what the
 *   custodian credited, token by token.
 * - `refundDeposit` returns a deposit no batch consumed before exodus to its depositor.
 *
 * The exit circuit's artifacts are the deployment's (its verifier contract was built from them); they are
 * passed in, never built here.
 */
import { parseEventLogs, type Address, type Hash, type PublicClient } from "viem";
import { custodianAbi } from "../chain/abi.ts";
import { proveExit, type ExitCircuitArtifacts } from "../exit/exitProver.ts";
import { exitWitness, type ExitValuation } from "../exit/exitWitness.ts";
import type { ExitClaim } from "../protocol/exitPublicData.ts";
import type { CircuitParams } from "../protocol/params.ts";
import { verifyChain, type VerifyProgress } from "../verifier/chainVerifier.ts";
import { accountOf, type ChainClients } from "./custodian.ts";

async function sendTx(c: ChainClients, custodian: Address, functionName: string, args: readonly unknown[]) {
  const hash = await c.walletClient.writeContract({ address: custodian, abi: custodianAbi, functionName, args, account: c.walletClient.account!, chain: c.walletClient.chain } as never);
  const receipt = await c.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`${functionName} reverted: ${hash}`);
  return receipt;
}

async function read<T>(publicClient: PublicClient, custodian: Address, functionName: string, args: readonly unknown[] = []): Promise<T> {
  return (await publicClient.readContract({ address: custodian, abi: custodianAbi, functionName, args } as never)) as T;
}

/** The custodian's exodus state: whether it is on, and from when anyone may switch it on. */
export type ExodusStatus = {
  exodusMode: boolean;
  /** Unix seconds from which `activateExodus` succeeds; null while no request waits. */
  availableAt: number | null;
  requestDeadline: number;
};

export async function exodusStatus(publicClient: PublicClient, custodian: Address): Promise<ExodusStatus> {
  const [exodusMode, availableAt, requestDeadline] = await Promise.all([
    read<boolean>(publicClient, custodian, "exodusMode"),
    read<bigint>(publicClient, custodian, "exodusAvailableAt"),
    read<bigint>(publicClient, custodian, "requestDeadline"),
  ]);
  return { exodusMode, availableAt: availableAt >= 2n ** 64n ? null : Number(availableAt), requestDeadline: Number(requestDeadline) };
}

/** Queues a forced withdrawal of `amount` of spot token `tokenId` from the wallet's account; returns its queue index. */
export async function forceWithdraw(c: ChainClients, custodian: Address, tokenId: number, amount: bigint): Promise<bigint> {
  return queuedIndex(await sendTx(c, custodian, "forceWithdraw", [tokenId, amount]));
}

/** Queues a forced withdrawal of `amount` of quote collateral (honoured only within the account's margin); returns its queue index. */
export async function forceWithdrawCollateral(c: ChainClients, custodian: Address, amount: bigint): Promise<bigint> {
  return queuedIndex(await sendTx(c, custodian, "forceWithdrawCollateral", [amount]));
}

function queuedIndex(receipt: Awaited<ReturnType<typeof sendTx>>): bigint {
  const [event] = parseEventLogs({ abi: custodianAbi, logs: receipt.logs, eventName: "RequestQueued" });
  if (!event) throw new Error("the custodian queued no request");
  return event.args.index;
}

/** Switches the custodian to exodus mode; throws with the time it becomes possible when it is too early. */
export async function activateExodus(c: ChainClients, custodian: Address): Promise<Hash> {
  const status = await exodusStatus(c.publicClient, custodian);
  if (status.exodusMode) throw new Error("the custodian is already in exodus mode");
  const block = await c.publicClient.getBlock();
  if (status.availableAt === null) throw new Error("no request is waiting: exodus cannot be activated while the operator is not late");
  if (Number(block.timestamp) < status.availableAt) {
    throw new Error(`too early: exodus can be activated from ${new Date(status.availableAt * 1000).toISOString()} (${status.availableAt - Number(block.timestamp)} s from the last block)`);
  }
  return (await sendTx(c, custodian, "activateExodus", [])).transactionHash;
}

/** Refunds deposit request `index` (never consumed by a batch) to its depositor; fields as its DEPOSIT record. */
export async function refundDeposit(c: ChainClients, custodian: Address, d: { index: bigint; accountId: number; tokenId: number; amount: bigint }): Promise<Hash> {
  return (await sendTx(c, custodian, "refundDeposit", [d.index, d.accountId, d.tokenId, d.amount])).transactionHash;
}

export type ExitOptions = {
  clients: ChainClients;
  custodian: Address;
  params: CircuitParams;
  /** The batch circuit's verification key (the chain verifier checks every batch's proof with it). */
  batchVkey: unknown;
  /** The exit circuit's artifacts, those the custodian's exit verifier was built from. */
  exitCircuit: ExitCircuitArtifacts;
  /** First block of the custodian's events (its deployment block); default 0. */
  fromBlock?: bigint;
  /** Called after each batch the chain verifier checks. */
  onProgress?: (p: VerifyProgress) => void;
  /** Where progress lines go (rebuilding, proving, sending). */
  log?: (line: string) => void;
};

export type ExitResult = {
  accountId: number;
  owner: Address;
  /** What was proven: root, prices and the amount owed per token id. */
  claim: ExitClaim;
  /** How the rule valued the account (spot balances, collateral, positions). */
  valuation: ExitValuation;
  /** What the custodian credited per token id (less than claimed only if it holds less). */
  paid: bigint[];
  exitTx: Hash;
  /** The withdraw transactions that sent the credited amounts to the wallet, per token id paid. */
  withdrawTxs: Map<number, Hash>;
};

/**
 * Exits the wallet's account: rebuild, value, prove, claim, pull. Throws (sending nothing) when the custodian is
 * not in exodus mode, the wallet has no account or has exited already, or the rebuilt state is not the
 * custodian's root (a chain the verifier cannot replay cannot be exited from).
 */
export async function exitAccount(o: ExitOptions): Promise<ExitResult> {
  const { publicClient } = o.clients;
  const log = o.log ?? (() => {});
  const owner = o.clients.walletClient.account!.address;
  const accountId = await accountOf(publicClient, o.custodian, owner);
  if (accountId === 0) throw new Error(`wallet ${owner} has no account on custodian ${o.custodian}`);
  if (!(await read<boolean>(publicClient, o.custodian, "exodusMode"))) {
    throw new Error("the custodian is not in exodus mode: exits open only once a queued request is past its deadline and exodus is activated");
  }
  if (await read<boolean>(publicClient, o.custodian, "exited", [accountId])) throw new Error(`account ${accountId} has already exited`);

  log(`rebuilding the state from chain data (custodian ${o.custodian})`);
  const report = await verifyChain({ publicClient, custodian: o.custodian, params: o.params, vkey: o.batchVkey, fromBlock: o.fromBlock, onProgress: o.onProgress });
  if (report.finalRoot !== report.chainRoot) {
    throw new Error(`the state rebuilt from chain data (root 0x${report.finalRoot.toString(16)}) is not the custodian's (0x${report.chainRoot.toString(16)}): ${report.mismatches.map((m) => m.message).join("; ")}`);
  }
  const prices = await read<readonly bigint[]>(publicClient, o.custodian, "lastPrices");
  const { claim, input, valuation } = exitWitness(report.state, accountId, prices, o.params);
  log(`proving the exit of account ${accountId} against root 0x${claim.root.toString(16).slice(0, 16)}…`);
  const { proof } = await proveExit(o.exitCircuit, input);
  const receipt = await sendTx(o.clients, o.custodian, "exit", [accountId, claim.amounts, proof]);
  const [exited] = parseEventLogs({ abi: custodianAbi, logs: receipt.logs, eventName: "Exited" });
  if (!exited) throw new Error("the custodian emitted no Exited event");
  const paid = [...exited.args.paid];
  const withdrawTxs = new Map<number, Hash>();
  for (const [tokenId, amount] of paid.entries()) {
    if (amount === 0n) continue;
    withdrawTxs.set(tokenId, (await sendTx(o.clients, o.custodian, "withdraw", [tokenId])).transactionHash);
  }
  return { accountId, owner, claim, valuation, paid, exitTx: receipt.transactionHash, withdrawTxs };
}
