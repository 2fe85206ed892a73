/**
 * The `exit` verb (scripts/exchange.ts) and the devnet's exodus act: loads the circuit artifacts (those given,
 * or this checkout's dev builds), runs the SDK's exit (sequencer/sdk/exit.ts: rebuild from chain data, value,
 * prove, claim, withdraw) and prints what the trader got, token by token, one JSON document per token and one
 * for the account (with the derivatives claim, what the custodian paid of it, token 0's derivatives part, and what
 * waits for the end of the claim window: `npm run cli -- claim-derivatives` collects it then). A token whose
 * balanceOf fails prints null for the wallet's balance; one whose pull fails is named (`pullFailed`, `failedPulls`)
 * with the command that retries it (`withdraw --claim --token-id N`).
 */
import { erc20Abi, type Address } from "viem";
import { buildExitCircuit } from "./build/exitCircuit.ts";
import { loadVkey } from "./verify.ts";
import { custodianAbi } from "../sequencer/chain/abi.ts";
import { PARAMS_SETS, type ParamsName } from "../sequencer/protocol/params.ts";
import { exitAccount, type ExitResult } from "../sequencer/sdk/exit.ts";
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

  const result = await exitAccount({ clients: o.clients, custodian: o.custodian, params, batchVkey, exitCircuit, fromBlock: o.fromBlock, logRange: o.logRange, log: o.log });
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
    valuation: result.valuation,
  });
  for (const f of result.failedPulls) {
    o.log(`token ${f.tokenId}: credited by the exit but not pulled (${f.error}); it waits for you on the custodian: retry with npm run cli -- withdraw --claim --token-id ${f.tokenId} --rpc URL --custodian ${o.custodian} --wallet-key 0x..`);
  }
  return { result, lines };
}
