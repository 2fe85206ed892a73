/**
 * The `exit` verb (scripts/exchange.ts) and the devnet's exodus act: loads the circuit artifacts (those given,
 * or this checkout's dev builds), runs the SDK's exit (sequencer/sdk/exit.ts: rebuild from chain data, value,
 * prove, claim, withdraw) and prints what the trader got, token by token, one JSON document per token and one
 * for the account (with the derivatives claim, what the custodian paid of it, token 0's derivatives part, and what
 * waits for the end of the claim window: `npm run cli -- claim-derivatives` collects it then; null, with a line in
 * `warnings` and the `exit-remainders` command on stderr, when the custodian could not be read after the exit: the
 * exit's outcome comes from its receipt and is printed all the same). A token whose
 * balanceOf fails prints null for the wallet's balance; one whose pull fails is named (`pullFailed`, `failedPulls`)
 * with the command that retries it (`withdraw --claim --token-id N`). Its follow-ups are here too: the
 * `claim-derivatives` and `claim-exit-remainder` verbs (each pays, then pulls what it credited: a pull that fails is
 * printed with its retry command, not thrown, since the payment is done) and `exit-remainders` (what still waits for
 * an exited account, with the command that claims each).
 */
import { erc20Abi, type Address } from "viem";
import { buildExitCircuit } from "./build/exitCircuit.ts";
import { loadVkey } from "./verify.ts";
import { readCheckpoint } from "./lib/checkpointFile.ts";
import { custodianAbi } from "../sequencer/chain/abi.ts";
import { PARAMS_SETS, type ParamsName } from "../sequencer/protocol/params.ts";
import {
  collectDerivativesClaim, collectExitRemainder, exitAccount, pendingExitClaims, type DerivativesCollected, type ExitResult, type PendingExitClaims,
  type RemainderCollected,
} from "../sequencer/sdk/exit.ts";
import type { ChainClients } from "../sequencer/sdk/custodian.ts";

export type RunExitOptions = {
  clients: ChainClients;
  custodian: Address;
  params: ParamsName;
  /** The batch circuit's verification key (path); default: this checkout's dev build. */
  vkey?: string;
  /** The exit circuit's artifacts (all three, or none: this checkout's dev build). */
  exitWasm?: string;
  exitZkey?: string;
  exitVkey?: string;
  fromBlock?: bigint;
  /** Most blocks one eth_getLogs call spans while rebuilding (default 10,000): `--log-range`. */
  logRange?: bigint;
  /** Path of a checkpoint to resume the rebuild from (`--checkpoint`; scripts/verify.ts `--save-checkpoint` writes one). */
  checkpoint?: string;
  /** One JSON-able document per call. */
  print: (v: unknown) => void;
  /** Progress lines. */
  log: (line: string) => void;
};

/**
 * One token's outcome of an exit, as printed: `claimed` and `paid` are the totals (for token 0 the spot balance plus
 * the derivatives claim, and what was credited of both); the account's document splits token 0's derivatives part.
 */
export type ExitLine = {
  tokenId: number; token: Address; claimed: bigint; paid: bigint;
  /** The wallet's balance of the token before and after (null: the token's balanceOf failed; the exit goes on). */
  walletBefore: bigint | null; walletAfter: bigint | null;
  /** Set when the exit credited the token but pulling it failed (SDK ExitResult.failedPulls): it waits in withdrawable. */
  pullFailed?: string;
};

/** Exits the wallet's account and prints the outcome; returns the SDK's result and the printed lines. */
export async function runExit(o: RunExitOptions): Promise<{ result: ExitResult; lines: ExitLine[] }> {
  const params = PARAMS_SETS[o.params];
  let exitCircuit = o.exitWasm && o.exitZkey && o.exitVkey ? { wasm: o.exitWasm, zkey: o.exitZkey, vkey: o.exitVkey } : undefined;
  // checked before anything is built or read
  if (!exitCircuit && (o.exitWasm || o.exitZkey || o.exitVkey)) throw new Error("--exit-wasm, --exit-zkey and --exit-vkey go together");
  const checkpoint = o.checkpoint === undefined ? undefined : readCheckpoint(o.checkpoint);
  const batchVkey = await loadVkey(params, o.vkey, o.log);
  if (!exitCircuit) {
    const build = await buildExitCircuit(params, "dev");
    o.log(`exit circuit: ${build.zkey} (development key of this checkout)`);
    exitCircuit = build;
  }
  const { publicClient } = o.clients;
  const wallet = o.clients.walletClient.account!.address;
  const tokenCount = Number(await publicClient.readContract({ address: o.custodian, abi: custodianAbi, functionName: "tokenCount" }));
  const tokens: Address[] = [];
  for (let t = 0; t < tokenCount; t++) tokens.push(await publicClient.readContract({ address: o.custodian, abi: custodianAbi, functionName: "tokens", args: [t] }));
  // Each token read on its own, a failure read as null: a registered token whose balanceOf reverts (the custodian
  // survives it at the exit: it pays 0 and records a remainder) must not keep any trader from exiting.
  const balanceOf = (t: number): Promise<bigint | null> =>
    publicClient.readContract({ address: tokens[t], abi: erc20Abi, functionName: "balanceOf", args: [wallet] }).then((b) => b, () => null);
  const before = await Promise.all(tokens.map((_, t) => balanceOf(t)));

  const result = await exitAccount({ clients: o.clients, custodian: o.custodian, params, batchVkey, exitCircuit, fromBlock: o.fromBlock, logRange: o.logRange, checkpoint, log: o.log });
  const lines: ExitLine[] = [];
  for (let t = 0; t < tokenCount; t++) {
    const claimed = result.claim.amounts[t] + (t === 0 ? result.claim.derivativesClaim : 0n);
    const failed = result.failedPulls.find((f) => f.tokenId === t);
    const line: ExitLine = { tokenId: t, token: tokens[t], claimed, paid: result.paid[t], walletBefore: before[t], walletAfter: await balanceOf(t) };
    if (failed) line.pullFailed = failed.error;
    lines.push(line);
    o.print(line);
  }
  o.print({
    status: "exited", accountId: result.accountId, owner: result.owner, root: `0x${result.claim.root.toString(16)}`, exitTx: result.exitTx,
    pooledQuote: result.claim.pooledQuote, derivativesClaim: result.claim.derivativesClaim, derivativesPaid: result.derivativesPaid,
    derivativesPending: result.derivativesPending, claimWindowEnd: result.claimWindowEnd, remainders: result.remainders, failedPulls: result.failedPulls,
    warnings: result.warnings, valuation: result.valuation,
  });
  for (const f of result.failedPulls) o.log(pullFailedLine(o.custodian, f.tokenId, "credited by the exit", f.error));
  // a read after the exit failed (the SDK logged its warning): the exit is done, its follow-up reads what it missed
  if (result.warnings.length > 0) o.log(`the exit is done; what waits for account ${result.accountId}: npm run cli -- exit-remainders --for-account ${result.accountId} ${chainArgs(o.custodian)}`);
  return { result, lines };
}

/** The command-line tail every chain verb takes (the wallet's key left for the user to fill in). */
const chainArgs = (custodian: Address) => `--rpc URL --custodian ${custodian} --wallet-key 0x..`;

/** The stderr line for a credit whose pull failed (`what` credited it), with the command that retries the pull. */
function pullFailedLine(custodian: Address, tokenId: number, what: string, error: string): string {
  return `token ${tokenId}: ${what} but not pulled (${error}); it waits for you on the custodian: retry with npm run cli -- withdraw --claim --token-id ${tokenId} ${chainArgs(custodian)}`;
}

/** Options of the exit's follow-up verbs: the wallet, the custodian, and where the outcome goes. */
type FollowUpOptions = { clients: ChainClients; custodian: Address; print: (v: unknown) => void; log: (line: string) => void };

/** `claim-derivatives`: collects the wallet's derivatives claim (SDK collectDerivativesClaim) and prints it; a failed pull of token 0 is printed (`pullFailed`) and named on stderr with its retry command. */
export async function runClaimDerivatives(o: FollowUpOptions & { fromBlock?: bigint; logRange?: bigint }): Promise<DerivativesCollected> {
  const r = await collectDerivativesClaim(o);
  o.print({ status: "derivatives claim paid", ...r });
  if (r.pullFailed !== undefined) o.log(pullFailedLine(o.custodian, 0, `${r.paid} credited for the derivatives claim`, r.pullFailed));
  return r;
}

/** `claim-exit-remainder`: pays an exit remainder (SDK collectExitRemainder) and prints it; a failed pull is printed (`pullFailed`) and named on stderr with its retry command. */
export async function runClaimExitRemainder(o: FollowUpOptions & { tokenId: number; forAccount?: number }): Promise<RemainderCollected> {
  const r = await collectExitRemainder(o, o.tokenId, o.forAccount);
  o.print({ status: "exit remainder paid", ...r });
  if (r.pullFailed !== undefined) o.log(pullFailedLine(o.custodian, r.tokenId, `${r.amount} credited as the exit remainder`, r.pullFailed));
  return r;
}

/**
 * `exit-remainders`: prints what waits for an exited account (SDK pendingExitClaims: its exit remainders and its
 * derivatives claim, each with whether the custodian would pay it now) and, on stderr, the command that claims each.
 */
export async function runExitRemainders(o: {
  publicClient: ChainClients["publicClient"]; custodian: Address; accountId: number; fromBlock?: bigint; logRange?: bigint; print: (v: unknown) => void; log: (line: string) => void;
}): Promise<PendingExitClaims> {
  const r = await pendingExitClaims(o);
  o.print({ status: "pending exit claims", ...r });
  if (!r.exited) o.log(`account ${r.accountId} has not exited: nothing waits for it`);
  const when = (s: { claimable: boolean; free?: bigint; refusal?: string }, unit: string) =>
    s.claimable ? "the custodian pays it now" : s.free !== undefined ? `not yet: the custodian holds ${s.free} of ${unit} free; retry once it holds it` : `not yet (${s.refusal})`;
  for (const t of r.remainders) {
    o.log(`token ${t.tokenId}: ${t.amount} waiting, ${when(t, "it")}: npm run cli -- claim-exit-remainder --token-id ${t.tokenId} --for-account ${r.accountId} ${chainArgs(o.custodian)}`);
  }
  const d = r.derivatives;
  if (d) o.log(`derivatives claim: ${d.claim} waiting (${d.due} due), ${when(d, "token 0")}: npm run cli -- claim-derivatives ${chainArgs(o.custodian)} (the account's owner)`);
  return r;
}
