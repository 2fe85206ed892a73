/**
 * Leaving without the operator (issue 12): the exit itself, on chain data alone. The custodian calls around it
 * (forceWithdraw, activateExodus, refundDeposit, exit, exodusStatus) are in ./custodian.ts.
 *
 * `exitAccount` rebuilds the state from the custodian's events and batch calldata (the independent verifier's
 * code, sequencer/verifier/chainVerifier.ts: no sequencer, API or data directory is involved), values the
 * account by the exit rule (sequencer/exit/exitRule.ts) at the last proven prices the custodian stored, proves
 * the claim (spot amounts, derivatives claim, the state's pooled quote) with the exit circuit, sends it, and pulls
 * what the custodian credited, token by token (a pull that fails is reported in the result, not thrown: the exit
 * itself happens once).
 *
 * The exit circuit's artifacts are the deployment's (its verifier contract was built from them); they are
 * passed in, never built here.
 */
import { readFile } from "node:fs/promises";
import type { Address, Hash, Hex, PublicClient } from "viem";
import { custodianAbi } from "../chain/abi.ts";
import { DEFAULT_LOG_RANGE, newestLogs } from "../chain/logs.ts";
import type { ExitValuation } from "../exit/exitRule.ts";
import { proveExit, type ExitKeys } from "../exit/exitProver.ts";
import { exitWitness } from "../exit/exitWitness.ts";
import type { ExitClaim } from "../protocol/exitPublicData.ts";
import type { CircuitParams } from "../protocol/params.ts";
import { verifyChain, type VerifyProgress } from "../verifier/chainVerifier.ts";
import { accountOf, claimDerivatives, claimWithdrawal, exit, exodusClaim, type ChainClients } from "./custodian.ts";
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
   * derivativesPending); after it, what the window's claims left of the pooled quote's pot, up to the claim.
   */
  derivativesPaid: bigint;
  /** The claim recorded within the claim window, paid pro rata once it ends (collectDerivativesClaim); 0: none. */
  derivativesPending: bigint;
  /** When the claim window ends (unix seconds). */
  claimWindowEnd: bigint;
  /** Per token id, what the exit could not pay and recorded (a token whose balanceOf failed): claimExitRemainder. */
  remainders: bigint[];
  /**
   * The tokens the exit credited but whose pull (withdraw) failed, in token-id order, with the error's first line
   * (a paused or blacklisting token): the credit waits in withdrawable; pull it later with `withdraw(tokenId)`
   * (`npm run cli -- withdraw --claim --token-id N`). Empty when every credited token was pulled.
   */
  failedPulls: FailedPull[];
  exitTx: Hash;
};

/** A credited token that exitAccount could not pull: its id and the first line of the error. */
export type FailedPull = { tokenId: number; error: string };

const firstLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split("\n")[0]!;

/**
 * Exits the wallet's account: rebuild, value, prove, claim, pull. Throws (sending nothing) when the custodian is
 * not in exodus mode, the wallet has no account or has exited already, or the rebuilt state is not the
 * custodian's root (a chain the verifier cannot replay cannot be exited from). Once the exit is sent and accepted it
 * returns: a credited token whose pull fails is listed in `failedPulls`, not thrown.
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

  log(`rebuilding the state from chain data (custodian ${o.custodian})`);
  const report = await verifyChain({ publicClient, custodian: o.custodian, params: o.params, vkey: o.batchVkey, fromBlock: o.fromBlock, logRange: o.logRange, onProgress: o.onProgress });
  if (report.finalRoot !== report.chainRoot) {
    throw new Error(`the state rebuilt from chain data (root 0x${report.finalRoot.toString(16)}) is not the custodian's (0x${report.chainRoot.toString(16)}): ${report.mismatches.map((m) => m.message).join("; ")}`);
  }
  const prices = await read<readonly bigint[]>(publicClient, o.custodian, "lastPrices");
  const { claim, input, valuation } = exitWitness(report.state, accountId, prices, o.params);
  log(`proving the exit of account ${accountId} against root 0x${claim.root.toString(16).slice(0, 16)}…`);
  const { proof } = await proveExit(o.exitCircuit, input);
  const { paid, derivativesPaid, derivativesPending, claimWindowEnd, remainders, hash } = await exit(o.clients, o.custodian, claim, proof);
  // The exit is done (once only): from here nothing may throw, or its result would be lost. Each credited token is
  // pulled on its own; one that refuses the transfer is reported and the others are pulled all the same.
  const failedPulls: FailedPull[] = [];
  for (const [tokenId, amount] of paid.entries()) {
    if (amount === 0n) continue;
    try {
      await claimWithdrawal(o.clients, o.custodian, tokenId);
    } catch (e) {
      failedPulls.push({ tokenId, error: firstLine(e) });
      log(`token ${tokenId}: ${amount} credited but not pulled (${firstLine(e)}): it waits in withdrawable; pull it with withdraw --claim --token-id ${tokenId} (SDK claimWithdrawal)`);
    }
  }
  if (derivativesPending > 0n) log(`derivatives claim of ${derivativesPending} recorded: paid pro rata once the claim window ends at ${claimWindowEnd}`);
  for (const [tokenId, amount] of remainders.entries()) {
    if (amount > 0n) log(`token ${tokenId}: ${amount} not paid (the custodian read less of it free) and recorded: claim it with claim-exit-remainder --token-id ${tokenId} (SDK claimExitRemainder) once the token answers`);
  }
  return { accountId, owner, claim, valuation, paid, derivativesPaid, derivativesPending, claimWindowEnd, remainders, failedPulls, exitTx: hash };
}

/**
 * What collectDerivativesClaim paid: the claim recorded in the window and the share of the pot credited and pulled;
 * `tx` is the claimDerivatives transaction (someone else's when `sentByOther`: anyone may send it).
 */
export type DerivativesCollected = { accountId: number; claimed: bigint; paid: bigint; tx: Hash; sentByOther: boolean };

/**
 * After the claim window: pays the wallet's account its derivatives claim recorded within the window (its share of
 * the pooled quote's pot) and pulls it to the wallet. When someone else already sent the claim (anyone may), pulls
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
      if (credited > 0n) await claimWithdrawal(o.clients, o.custodian, QUOTE_TOKEN_ID);
      const { claimed, paid } = paidEarlier.args;
      return { accountId, claimed, paid, tx: paidEarlier.transactionHash, sentByOther: true };
    }
  }
  const { claimed, paid, hash } = await claimDerivatives(o.clients, o.custodian, accountId);
  if (paid > 0n) await claimWithdrawal(o.clients, o.custodian, QUOTE_TOKEN_ID);
  return { accountId, claimed, paid, tx: hash, sentByOther: false };
}
