/**
 * Leaving without the operator (issue 12): the exit itself, on chain data alone. The custodian calls around it
 * (forceWithdraw, activateExodus, refundDeposit, exit, exodusStatus) are in ./custodian.ts.
 *
 * `exitAccount` rebuilds the state from the custodian's events and batch calldata (the independent verifier's
 * code, sequencer/verifier/chainVerifier.ts: no sequencer, API or data directory is involved), values the
 * account by the exit rule (sequencer/exit/exitRule.ts) at the last proven prices the custodian stored, proves
 * the claim (spot amounts, derivatives claim, the state's pooled quote) with the exit circuit, sends it, and pulls
 * what the custodian credited, token by token (a pull that fails is reported in the result, not thrown: the exit
 * itself happens once). Its follow-ups: `collectDerivativesClaim` and `collectExitRemainder` pay what waited and
 * pull it (likewise reporting a failed pull), and `pendingExitClaims` reads what still waits.
 *
 * The exit circuit's artifacts are the deployment's (its verifier contract was built from them); they are
 * passed in, never built here.
 */
import { readFile } from "node:fs/promises";
import { isAddressEqual, parseEventLogs, type Address, type Hash, type Hex, type PublicClient } from "viem";
import { custodianAbi } from "../chain/abi.ts";
import { DEFAULT_LOG_RANGE, newestLogs } from "../chain/logs.ts";
import { contractRevert } from "../chain/reverts.ts";
import type { ExitValuation } from "../exit/exitRule.ts";
import { proveExit, type ExitKeys } from "../exit/exitProver.ts";
import { exitWitness } from "../exit/exitWitness.ts";
import type { ExitClaim } from "../protocol/exitPublicData.ts";
import type { CircuitParams } from "../protocol/params.ts";
import { verifyChain, type VerifyProgress } from "../verifier/chainVerifier.ts";
import type { StateCheckpoint } from "../verifier/checkpoint.ts";
import { accountOf, claimDerivatives, claimExitRemainder, exit, exodusClaim, pull, pullCredited, type ChainClients, type FailedPull } from "./custodian.ts";
import { QUOTE_TOKEN_ID } from "../protocol/constants.ts";

async function read<T>(publicClient: PublicClient, custodian: Address, functionName: string, args: readonly unknown[] = []): Promise<T> {
  return (await publicClient.readContract({ address: custodian, abi: custodianAbi, functionName, args } as never)) as T;
}

/**
 * Whether `code` (a deployed exit verifier's) was generated from verification key `vkey`: the generated verifier
 * (scripts/build/batchVerifierContract.ts) holds the key's delta, which its setup's random contributions make unique,
 * as four constants in its code, each pushed as solc pushes a constant (`pushCode`: the shortest PUSHn, so a
 * coordinate whose top byte is 0, about one in 48, is a PUSH31 of 31 bytes, not 32 bytes with a leading 0; CI of
 * 2026-12-06 refused a right key for it). A proof made with another setup's zkey would be refused (InvalidProof).
 */
export function verifierHoldsKey(code: Hex | undefined, vkey: { vk_delta_2: readonly (readonly string[])[] }): boolean {
  const words = (code ?? "0x").slice(2).toLowerCase();
  return vkey.vk_delta_2.slice(0, 2).flat().every((w) => words.includes(pushCode(BigInt(w))));
}

/** The bytes (hex, no 0x) of the instruction solc emits to push constant `v`: PUSH0, or PUSHn and v's n big-endian bytes, n minimal. */
export function pushCode(v: bigint): string {
  if (v === 0n) return "5f";
  const bytes = v.toString(16).padStart(2 * Math.ceil(v.toString(16).length / 2), "0");
  return (0x5f + bytes.length / 2).toString(16) + bytes;
}

export type ExitOptions = {
  clients: ChainClients;
  custodian: Address;
  params: CircuitParams;
  /** The batch circuit's verification key (the chain verifier checks every batch's proof with it). */
  batchVkey: unknown;
  /** The exit circuit's artifacts, those the custodian's exit verifier was built from. */
  exitCircuit: ExitKeys;
  /** First block of the custodian's events (its deployment block); default 0. */
  fromBlock?: bigint;
  /**
   * Most blocks one eth_getLogs call spans while rebuilding (default DEFAULT_LOG_RANGE, 10,000); a range the node
   * refuses (too many results) is read again in halves in any case (sequencer/chain/logs.ts).
   */
  logRange?: bigint;
  /** Called after each batch the chain verifier checks. */
  onProgress?: (p: VerifyProgress) => void;
  /**
   * A state saved after an earlier batch (../verifier/checkpoint.ts: `npm run verify -- --save-checkpoint`, from
   * anybody): the rebuild resumes after its batch once its rehashed root is that batch's root on chain, instead of
   * replaying every batch from genesis. A checkpoint that does not fit throws before anything is sent.
   */
  checkpoint?: StateCheckpoint;
  /** Where progress lines go (rebuilding, proving, sending). */
  log?: (line: string) => void;
};

export type ExitResult = {
  accountId: number;
  owner: Address;
  /** What was proven: root, prices, the pooled quote, the derivatives claim and the spot amount per token id. */
  claim: ExitClaim;
  /** How the rule valued the account (spot balances, collateral, funding, positions). */
  valuation: ExitValuation;
  /** What the custodian credited per token id: the spot amount, plus for token 0 derivativesPaid. */
  paid: bigint[];
  /**
   * What it credited of the derivatives claim at once: 0 within the claim window (the claim waits:
   * derivativesPending); after it, what the window's claims left of the pooled quote's pot, up to the claim, as far
   * as the custodian held it free in token 0 (the rest waits: derivativesPending).
   */
  derivativesPaid: bigint;
  /**
   * What waits for collectDerivativesClaim (0: none): the claim recorded within the claim window, paid pro rata once
   * it ends; or, after the window, the part of what was due that token 0 could not pay at the exit (its balanceOf
   * read short), paid in full once the custodian holds it free. null: the custodian could not be read after the
   * exit (`warnings`; pendingExitClaims reads it).
   */
  derivativesPending: bigint | null;
  /** When the claim window ends (unix seconds); null: not read after the exit (`warnings`). */
  claimWindowEnd: bigint | null;
  /** Per token id, what the exit could not pay and recorded (a token whose balanceOf failed): claimExitRemainder. */
  remainders: bigint[];
  /**
   * The tokens the exit credited but whose pull (withdraw) failed, in token-id order, with the error's first line
   * (a paused or blacklisting token): the credit waits in withdrawable; pull it later with `withdraw(tokenId)`
   * (`npm run cli -- withdraw --claim --token-id N`). Empty when every credited token was pulled.
   */
  failedPulls: FailedPull[];
  /**
   * What could not be read after the exit went through (the SDK exit's `warnings`: the claim window), one line each
   * with the exit's hash and the follow-up that reads it again; empty when nothing failed. Each is logged too.
   */
  warnings: string[];
  exitTx: Hash;
  /** The rebuild from chain data: from genesis (`resumedAfter` null) or a checkpoint's batch, the batches replayed, how long it took. */
  rebuild: { resumedAfter: number | null; batchesReplayed: number; ms: number };
};

export type { FailedPull };

/**
 * Exits the wallet's account: rebuild, value, prove, claim, pull. Throws (sending nothing) when the custodian is
 * not in exodus mode, the wallet has no account or has exited already, or the rebuilt state is not the
 * custodian's root (a chain the verifier cannot replay cannot be exited from). Once the exit is sent and accepted it
 * returns: a credited token whose pull fails is listed in `failedPulls`, a claim window that cannot be read after it
 * leaves derivativesPending and claimWindowEnd null with a line in `warnings`, neither thrown.
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
  // The deployment's exit key, before anything is rebuilt or proven: a ceremony key cannot be rebuilt, and a
  // checkout's development key proves for nothing against a custodian deployed with another (review of 2026-12-06).
  const exitVerifier = await read<Address>(publicClient, o.custodian, "exitVerifier");
  const exitVkey = JSON.parse(await readFile(o.exitCircuit.vkey, "utf8")) as { vk_delta_2: string[][] };
  if (!verifierHoldsKey(await publicClient.getCode({ address: exitVerifier }), exitVkey)) {
    throw new Error(
      `the exit key ${o.exitCircuit.vkey} is not this deployment's: the custodian's exit verifier ${exitVerifier} was built from another ` +
        "(pass the deployment's exit circuit: --exit-wasm, --exit-zkey, --exit-vkey)",
    );
  }

  log(`rebuilding the state from chain data (custodian ${o.custodian})${o.checkpoint ? `, from the checkpoint after batch ${o.checkpoint.batchNumber}` : ""}`);
  const rebuildStart = performance.now();
  const report = await verifyChain({
    publicClient, custodian: o.custodian, params: o.params, vkey: o.batchVkey, fromBlock: o.fromBlock, logRange: o.logRange, onProgress: o.onProgress, checkpoint: o.checkpoint,
  });
  if (report.finalRoot !== report.chainRoot) {
    throw new Error(`the state rebuilt from chain data (root 0x${report.finalRoot.toString(16)}) is not the custodian's (0x${report.chainRoot.toString(16)}): ${report.mismatches.map((m) => m.message).join("; ")}`);
  }
  const rebuild = { resumedAfter: report.resumedAfter, batchesReplayed: report.batchesChecked, ms: performance.now() - rebuildStart };
  const prices = await read<readonly bigint[]>(publicClient, o.custodian, "lastPrices");
  const { claim, input, valuation } = exitWitness(report.state, accountId, prices, o.params);
  log(`proving the exit of account ${accountId} against root 0x${claim.root.toString(16).slice(0, 16)}…`);
  const { proof } = await proveExit(o.exitCircuit, input);
  const { paid, derivativesPaid, derivativesPending, claimWindowEnd, remainders, warnings, hash } = await exit(o.clients, o.custodian, claim, proof);
  // The exit is done (once only): from here nothing may throw, or its result would be lost. Each credited token is
  // pulled on its own; one that refuses the transfer is reported and the others are pulled all the same.
  const failedPulls = await pullCredited(o.clients, o.custodian, paid);
  for (const { tokenId, error } of failedPulls) {
    log(`token ${tokenId}: ${paid[tokenId]} credited but not pulled (${error}): it waits in withdrawable; pull it with withdraw --claim --token-id ${tokenId} (SDK claimWithdrawal)`);
  }
  // Within the claim window the whole claim is recorded; after it, the part of what was due that token 0 could not pay.
  if (derivativesPending !== null && derivativesPending > 0n) log(`derivatives claim: ${derivativesPending} recorded, not paid yet: claim-derivatives (SDK collectDerivativesClaim) pays it once the claim window has ended (${claimWindowEnd}) and the custodian holds it free in token 0`);
  for (const [tokenId, amount] of remainders.entries()) {
    if (amount > 0n) log(`token ${tokenId}: ${amount} not paid (the custodian read less of it free) and recorded: claim it with claim-exit-remainder --token-id ${tokenId} (SDK claimExitRemainder) once the token answers`);
  }
  for (const w of warnings) log(w);
  return { accountId, owner, claim, valuation, paid, derivativesPaid, derivativesPending, claimWindowEnd, remainders, failedPulls, warnings, exitTx: hash, rebuild };
}

/**
 * What collectDerivativesClaim paid: the claim recorded in the window and the share of the pot credited and pulled;
 * `tx` is the claimDerivatives transaction (someone else's when `sentByOther`: anyone may send it). `pullFailed`,
 * only when pulling token 0 failed (the first line of the error): the payment is credited and waits in withdrawable
 * (`npm run cli -- withdraw --claim --token-id 0`, SDK claimWithdrawal).
 */
export type DerivativesCollected = { accountId: number; claimed: bigint; paid: bigint; tx: Hash; sentByOther: boolean; pullFailed?: string };

/** `r` with `pullFailed` set only when a pull failed (`error` defined). */
const withPull = <T extends object>(r: T, error: string | undefined): T & { pullFailed?: string } => (error === undefined ? r : { ...r, pullFailed: error });

/**
 * After the claim window: pays the wallet's account its pending derivatives claim (one recorded within the window,
 * its share of the pooled quote's pot; or the part of a late exit's due that token 0 could not pay then, in full)
 * and pulls it to the wallet (a pull that fails is reported in `pullFailed`, not thrown: the claim is paid). When someone else already sent the claim (anyone may), pulls
 * what it credited and reports that payment (found by its DerivativesClaimPaid event, searched from the head back
 * to `fromBlock` in ranges of `logRange` blocks: pass the deployment block to bound the search). Throws, sending
 * nothing, when the wallet has no account, the window is still open, or no claim is waiting and none was paid.
 */
export async function collectDerivativesClaim(o: Pick<ExitOptions, "clients" | "custodian" | "fromBlock" | "logRange">): Promise<DerivativesCollected> {
  const { publicClient } = o.clients;
  const owner = o.clients.walletClient.account!.address;
  const accountId = await accountOf(publicClient, o.custodian, owner);
  if (accountId === 0) throw new Error(`wallet ${owner} has no account on custodian ${o.custodian}`);
  const { pending } = await exodusClaim(publicClient, o.custodian, accountId);
  if (pending === 0n && (await read<boolean>(publicClient, o.custodian, "exited", [accountId]))) {
    // Paid by someone else (anyone may send claimDerivatives)? Its DerivativesClaimPaid is looked for from the head
    // backwards in ranges a node serves (one eth_getLogs from block 0 is refused by nodes capping the span).
    const head = await publicClient.getBlockNumber({ cacheTime: 0 });
    const [paidEarlier] = await newestLogs(o.fromBlock ?? 0n, head, o.logRange ?? DEFAULT_LOG_RANGE, (fromBlock, toBlock) =>
      publicClient.getContractEvents({ address: o.custodian, abi: custodianAbi, eventName: "DerivativesClaimPaid", args: { accountId }, fromBlock, toBlock, strict: true }));
    if (paidEarlier) {
      const credited = await read<bigint>(publicClient, o.custodian, "withdrawable", [owner, QUOTE_TOKEN_ID]);
      const error = credited > 0n ? await pull(o.clients, o.custodian, QUOTE_TOKEN_ID) : undefined;
      const { claimed, paid } = paidEarlier.args;
      return withPull({ accountId, claimed, paid, tx: paidEarlier.transactionHash, sentByOther: true }, error);
    }
  }
  const { claimed, paid, hash } = await claimDerivatives(o.clients, o.custodian, accountId);
  // paid: from here nothing may throw, or the result would be lost
  const error = paid > 0n ? await pull(o.clients, o.custodian, QUOTE_TOKEN_ID) : undefined;
  return withPull({ accountId, claimed, paid, tx: hash, sentByOther: false }, error);
}

/**
 * What collectExitRemainder paid: account `accountId`'s exit remainder of token `tokenId`, credited in full to its
 * owner; `pulled` when the wallet owns the account and pulled it; `pullFailed`, only when that pull failed (the first
 * line of the error): the remainder is credited and waits in withdrawable (`npm run cli -- withdraw --claim
 * --token-id N`, SDK claimWithdrawal).
 */
export type RemainderCollected = { accountId: number; tokenId: number; amount: bigint; tx: Hash; pulled: boolean; pullFailed?: string };

/**
 * Pays account `accountId`'s exit remainder of token `tokenId` (default: the wallet's account; anyone may pay
 * another's, which credits its owner) and, when the wallet owns the account, pulls it. Throws, sending nothing, when
 * the wallet has no account and none is given, and as claimExitRemainder does (the custodian refusing:
 * NoExitRemainder, ClaimNotCovered). Once the remainder is paid it returns: a pull that fails is reported in
 * `pullFailed`, not thrown.
 */
export async function collectExitRemainder(o: Pick<ExitOptions, "clients" | "custodian">, tokenId: number, accountId?: number): Promise<RemainderCollected> {
  const owner = o.clients.walletClient.account!.address;
  const own = await accountOf(o.clients.publicClient, o.custodian, owner);
  const id = accountId ?? own;
  if (id === 0) throw new Error(`wallet ${owner} has no account on custodian ${o.custodian}: name the exited account`);
  const { amount, hash } = await claimExitRemainder(o.clients, o.custodian, id, tokenId);
  if (id !== own) return { accountId: id, tokenId, amount, tx: hash, pulled: false };
  const error = await pull(o.clients, o.custodian, tokenId);
  return withPull({ accountId: id, tokenId, amount, tx: hash, pulled: error === undefined }, error);
}

/**
 * Whether a payment waiting for an exited account would go through now, as the custodian answers a call of it
 * (eth_call, nothing sent): `claimable`, or not yet, with `free` (what the custodian holds of the token beyond what
 * it owes, when that is short: ClaimNotCovered) or the custodian's error (`refusal`: ClaimWindowOpen).
 */
export type PendingStatus = { claimable: boolean; free?: bigint; refusal?: string };

/** One exit remainder waiting for claimExitRemainder: `amount` of token `tokenId` (its ExitRemainderRecorded). */
export type PendingRemainder = PendingStatus & { tokenId: number; amount: bigint };

/**
 * What waits for an exited account: its exit remainders (per token, what the exit could not pay) and its derivatives
 * claim waiting for claimDerivatives (`claim`, exodusClaim's pending: recorded within the claim window, or the part
 * a late exit could not pay; `due`, what it pays: `claim * pot / max(pot, windowClaims)`, the whole of a late part),
 * with when the claim window ends; null when none waits.
 */
export type PendingExitClaims = {
  accountId: number;
  exited: boolean;
  remainders: PendingRemainder[];
  derivatives: (PendingStatus & { claim: bigint; due: bigint; windowEnd: bigint }) | null;
};

/** How the custodian would answer `functionName(args)` now: null when nothing waits (`none`, the refusal's name). */
async function pendingStatus(publicClient: PublicClient, custodian: Address, functionName: string, args: readonly unknown[], none: string): Promise<PendingStatus | null> {
  try {
    await publicClient.simulateContract({ address: custodian, abi: custodianAbi, functionName, args } as never);
    return { claimable: true };
  } catch (e) {
    const revert = contractRevert(e);
    if (!revert?.data) throw e;
    if (revert.data.errorName === none) return null; // paid meanwhile
    if (revert.data.errorName === "ClaimNotCovered") return { claimable: false, free: (revert.data.args as readonly bigint[])[1] };
    return { claimable: false, refusal: revert.data.errorName };
  }
}

/**
 * Reads what waits for account `accountId` after its exit (nothing is sent): its exit remainders, found by the
 * ExitRemainderRecorded events of its exit's transaction (its Exited event searched from the head back to
 * `fromBlock` in ranges of `logRange` blocks) and each checked against the custodian now (one paid since is left
 * out), and its derivatives claim waiting (exodusClaim). The custodian keeps no per-token getter for remainders (its
 * code has no room for one under its reserve), so the events name them and a call of claimExitRemainder tells
 * whether each still waits. Throws when an exited account's Exited event is not found (`fromBlock` past it).
 */
export async function pendingExitClaims(o: { publicClient: PublicClient; custodian: Address; accountId: number; fromBlock?: bigint; logRange?: bigint }): Promise<PendingExitClaims> {
  const { publicClient, custodian, accountId } = o;
  const exited = await read<boolean>(publicClient, custodian, "exited", [accountId]);
  if (!exited) return { accountId, exited, remainders: [], derivatives: null };
  // One exit per account, which records all its remainders: its Exited event is looked for from the head back (the
  // search ends at the exit, however old the deployment), and the remainders are read from that transaction's logs.
  const head = await publicClient.getBlockNumber({ cacheTime: 0 });
  const [exitEvent] = await newestLogs(o.fromBlock ?? 0n, head, o.logRange ?? DEFAULT_LOG_RANGE, (fromBlock, toBlock) =>
    publicClient.getContractEvents({ address: custodian, abi: custodianAbi, eventName: "Exited", args: { accountId }, fromBlock, toBlock, strict: true }));
  if (!exitEvent) throw new Error(`account ${accountId} has exited but no Exited event of it was found from block ${o.fromBlock ?? 0n} (pass the custodian's deployment block)`);
  const { logs } = await publicClient.getTransactionReceipt({ hash: exitEvent.transactionHash });
  const recorded = parseEventLogs({ abi: custodianAbi, logs: logs.filter((l) => isAddressEqual(l.address, custodian)), eventName: "ExitRemainderRecorded" });
  const remainders: PendingRemainder[] = [];
  for (const ev of recorded) {
    const { tokenId, amount } = ev.args;
    const status = await pendingStatus(publicClient, custodian, "claimExitRemainder", [accountId, tokenId], "NoExitRemainder");
    if (status) remainders.push({ tokenId, amount, ...status });
  }
  const window = await exodusClaim(publicClient, custodian, accountId);
  let derivatives: PendingExitClaims["derivatives"] = null;
  if (window.pending > 0n) {
    const status = await pendingStatus(publicClient, custodian, "claimDerivatives", [accountId], "NoPendingClaim");
    const share = window.windowClaims > window.pot ? window.windowClaims : window.pot;
    const due = share === 0n ? 0n : (window.pending * window.pot) / share;
    if (status) derivatives = { claim: window.pending, due, windowEnd: window.windowEnd, ...status };
  }
  return { accountId, exited, remainders, derivatives };
}
