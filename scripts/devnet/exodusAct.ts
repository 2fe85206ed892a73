/**
 * The devnet's last act: the operator stops, and every trader leaves without it (issue 12).
 *
 * Before the stop, each trader's value as the exchange reports it (spot balances, and equity at mark prices:
 * Black-Scholes for options) is recorded through the API. Then the sequencer is stopped for good; a trader
 * queues a forced withdrawal that nobody will process; the chain's clock passes the custodian's request
 * deadline; exodus is switched on; and every trader runs the exit the CLI's `exit` verb runs
 * (sequencer/sdk/exit.ts: state rebuilt from chain data alone, claim proven with the exit circuit, credit pulled:
 * the spot part at once, the derivatives claim recorded); the chain's clock passes the claim window, and every
 * trader with a derivatives claim collects its share of the pot (`claim-derivatives`). It prints, per trader and
 * token, what was recovered, and the recovered fraction of the value the exchange reported; then what the
 * custodian still holds (the fee pool and the insurance fund beyond the claims, which no account can claim).
 */
import { readFileSync } from "node:fs";
import { erc20Abi, type Address, type PublicClient, type TestClient } from "viem";
import type { Clients } from "../deploy/deployExchange.ts";
import type { CircuitParams } from "../../sequencer/protocol/params.ts";
import type { ExchangeClient } from "../../sequencer/sdk/client.ts";
import { activateExodus, exodusStatus, forceWithdraw } from "../../sequencer/sdk/custodian.ts";
import { collectDerivativesClaim, exitAccount } from "../../sequencer/sdk/exit.ts";
import { readCheckpoint } from "../lib/checkpointFile.ts";

export type ExodusTrader = { name: string; c: ExchangeClient; clients: Clients };

export type ExodusContext = {
  publicClient: PublicClient;
  testClient: TestClient;
  custodian: Address;
  /** The circuit sizes the exchange runs at (the exit proof is for the same state tree). */
  params: CircuitParams;
  tokens: { symbol: string; address: Address; decimals: number }[];
  traders: ExodusTrader[];
  /** Stops the sequencer (and its API) for good. */
  stopOperator: () => Promise<void>;
  /** Moves the sequencer-side clock with the chain's (nothing runs on it any more, but the devnet keeps them together). */
  advance: (seconds: number) => void;
  /** The batch circuit's verification key path (the exit's chain rebuild checks every batch with it). */
  vkey: string;
  exitCircuit: { wasm: string; zkey: string; vkey: string };
  /**
   * A checkpoint file (the verifier's `--save-checkpoint`): the first trader's exit rebuilds from genesis, every
   * other resumes from it (checked against its batch's root on chain), and both rebuild times are printed.
   */
  checkpoint?: string;
  info: (line: string) => void;
  step: (line: string) => void;
};

/** Per trader: token id -> amount recovered, and the recovered fraction of the reported value (quote). */
export type ExodusOutcome = { name: string; recovered: bigint[]; reportedQuote: bigint; recoveredQuote: bigint }[];

const units = (v: bigint, decimals: number) => (Number(v) / 10 ** decimals).toLocaleString("en-US", { maximumFractionDigits: 6 });

export async function runExodusAct(ctx: ExodusContext): Promise<ExodusOutcome> {
  const { info, step } = ctx;
  step("Exodus: the operator stops; every trader leaves with an exit proof, from chain data alone");
  // What the exchange reported each trader owns, before it went away: spot balances and derivatives equity at marks.
  const reported = new Map<string, bigint>();
  for (const t of ctx.traders) {
    const [account, derivatives] = await Promise.all([t.c.account(), t.c.derivatives()]);
    const quote = account.balances.find((b) => b.tokenId === 0)?.balance ?? 0n;
    reported.set(t.name, quote + (derivatives.equity > 0n ? derivatives.equity : 0n));
  }
  await ctx.stopOperator();
  info("the sequencer is stopped for good (nothing it kept is used from here on)");

  const forcer = ctx.traders[1];
  const index = await forceWithdraw(forcer.clients, ctx.custodian, 0, 1_000_000n);
  const status = await exodusStatus(ctx.publicClient, ctx.custodian);
  info(`${forcer.name} queues a forced withdrawal (request ${index}); the operator must prove it within ${Number(status.requestDeadline) / 86_400} days`);
  const now = Number((await ctx.publicClient.getBlock()).timestamp);
  const wait = Number(status.exodusAvailableAt!) - now;
  await ctx.testClient.increaseTime({ seconds: wait });
  await ctx.testClient.mine({ blocks: 1 });
  ctx.advance(wait);
  await activateExodus(forcer.clients, ctx.custodian);
  info(`${(wait / 86_400).toFixed(2)} days later nobody has processed it: exodus mode is on, batches are refused for good`);

  const outcome: ExodusOutcome = [];
  const batchVkey = JSON.parse(readFileSync(ctx.vkey, "utf8"));
  const walletBalances = (owner: Address) =>
    Promise.all(ctx.tokens.map((tok) => ctx.publicClient.readContract({ address: tok.address, abi: erc20Abi, functionName: "balanceOf", args: [owner] })));
  const exits = [];
  const checkpoint = ctx.checkpoint === undefined ? undefined : readCheckpoint(ctx.checkpoint);
  for (const [i, t] of ctx.traders.entries()) {
    const owner = t.clients.walletClient.account!.address;
    const before = await walletBalances(owner);
    const resume = i > 0 ? checkpoint : undefined;
    const result = await exitAccount({ clients: t.clients, custodian: ctx.custodian, params: ctx.params, batchVkey, exitCircuit: ctx.exitCircuit, checkpoint: resume });
    const pendingClaim = result.derivativesPending ?? 0n; // null only when a read after the exit failed (never on the devnet's own node)
    const pending = pendingClaim > 0n ? `; derivatives claim of ${units(pendingClaim, 6)} USDC recorded for the claim window` : "";
    const { resumedAfter, batchesReplayed, ms } = result.rebuild;
    const from = resumedAfter === null ? "genesis" : `the checkpoint after batch ${resumedAfter}`;
    info(`${t.name} proves its exit: spot balances credited and pulled${pending} (state rebuilt from ${from}: ${batchesReplayed} batches replayed in ${(ms / 1000).toFixed(1)} s)`);
    exits.push({ t, owner, before, result });
  }
  const windowEnd = exits.reduce((end, e) => ((e.result.claimWindowEnd ?? 0n) > end ? e.result.claimWindowEnd! : end), 0n);
  const window = Number(windowEnd) - Number((await ctx.publicClient.getBlock()).timestamp);
  if (window > 0) {
    await ctx.testClient.increaseTime({ seconds: window });
    await ctx.testClient.mine({ blocks: 1 });
    ctx.advance(window);
  }
  info(`${(Math.max(window, 0) / 86_400).toFixed(2)} days later the claim window is over: every claim recorded in it takes the same share of the pooled quote`);
  for (const { t, owner, before, result } of exits) {
    if ((result.derivativesPending ?? 0n) > 0n) {
      const { claimed, paid } = await collectDerivativesClaim({ clients: t.clients, custodian: ctx.custodian });
      info(`${t.name} collects its derivatives claim: ${units(paid, 6)} of ${units(claimed, 6)} USDC`);
    }
    const after = await walletBalances(owner);
    const recovered = after.map((v, i) => v - before[i]);
    const got = recovered.flatMap((v, i) => (v > 0n ? [`${units(v, ctx.tokens[i].decimals)} ${ctx.tokens[i].symbol}`] : []));
    const reportedQuote = reported.get(t.name)!;
    const recoveredQuote = recovered[0];
    const fraction = reportedQuote === 0n ? "-" : `${((Number(recoveredQuote) / Number(reportedQuote)) * 100).toFixed(2)}%`;
    const v = result.valuation;
    info(`${t.name} exits: ${got.length ? got.join(", ") : "nothing"}; equity by the exit rule ${units(v.equity, 6)} USDC (collateral ${units(v.collateral, 6)}, funding ${units(v.funding, 6)}, ${v.positions.filter((p) => p.size !== 0n).length} open positions); USDC recovered / USDC value reported before the stop: ${fraction}`);
    outcome.push({ name: t.name, recovered, reportedQuote, recoveredQuote });
  }
  for (const tok of ctx.tokens) {
    const left = await ctx.publicClient.readContract({ address: tok.address, abi: erc20Abi, functionName: "balanceOf", args: [ctx.custodian] });
    info(`the custodian still holds ${units(left, tok.decimals)} ${tok.symbol}`);
  }
  return outcome;
}
