/**
 * A trader's on-chain steps with the custodian (contracts/Custodian.sol), through a viem wallet:
 * register the derived trading key (which opens the account), deposit ERC20 tokens, and claim a
 * withdrawal once the batch that carried it is posted. The custodian's limits are checked before anything is
 * sent, with a clear error: a deposit must bring at least the token's minimum, and an account may rotate its
 * key again only once its previous registration has been processed by a batch. The operator's treasury steps
 * (queueing the fee pool's and the insurance fund's withdrawals) and the calldata the timelock schedules to change
 * their recipients are here too.
 */
import {
  encodeFunctionData, erc20Abi, isAddressEqual, parseEventLogs, zeroAddress, type Abi, type Address, type Hash, type Hex, type PublicClient, type TransactionReceipt,
  type WalletClient,
} from "viem";
import { custodianAbi } from "../chain/abi.ts";
import type { PublicKey } from "../crypto/babyjub.ts";

export type ChainClients = { publicClient: PublicClient; walletClient: WalletClient };

/** The first line of an error's message (viem's run over many lines: a warning or a result field takes one). */
export const firstLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split("\n")[0]!;

async function sendTx(c: ChainClients, address: Address, abi: Abi, functionName: string, args: readonly unknown[]): Promise<TransactionReceipt> {
  const hash = await c.walletClient.writeContract({ address, abi, functionName, args, account: c.walletClient.account!, chain: c.walletClient.chain } as never);
  let receipt: TransactionReceipt;
  try {
    receipt = await c.publicClient.waitForTransactionReceipt({ hash });
  } catch (e) {
    // Sent, but whether it went through is unknown: the hash is all the caller has to look it up (an exit, once only,
    // must not be sent again blind: AlreadyExited).
    throw new Error(`${functionName} was sent as ${hash} but its receipt could not be read (${firstLine(e)}): look the transaction up before sending it again`, { cause: e });
  }
  if (receipt.status !== "success") throw new Error(`${functionName} reverted: ${hash}`);
  return receipt;
}

/** The account id the custodian gave `owner` (0 when it has none). */
export async function accountOf(publicClient: PublicClient, custodian: Address, owner: Address): Promise<number> {
  return Number(await publicClient.readContract({ address: custodian, abi: custodianAbi, functionName: "accountOf", args: [owner] }));
}

/** The smallest amount a deposit of token `tokenId` may bring (fixed when the token was registered). */
export async function minDeposit(publicClient: PublicClient, custodian: Address, tokenId: number): Promise<bigint> {
  return publicClient.readContract({ address: custodian, abi: custodianAbi, functionName: "minDeposit", args: [tokenId] });
}

/** Whether account `accountId` has a key registration the custodian has queued but no batch has processed yet. */
export async function keyRotationPending(publicClient: PublicClient, custodian: Address, accountId: number): Promise<boolean> {
  return publicClient.readContract({ address: custodian, abi: custodianAbi, functionName: "keyRotationPending", args: [accountId] });
}

/**
 * Registers the trading key for the wallet's account (creating the account); returns the account id. Throws,
 * sending nothing, while the account's previous key registration is still waiting in the custodian's queue.
 */
export async function registerTradingKey(c: ChainClients, custodian: Address, publicKey: PublicKey): Promise<number> {
  const existing = await accountOf(c.publicClient, custodian, c.walletClient.account!.address);
  if (existing !== 0 && (await keyRotationPending(c.publicClient, custodian, existing))) {
    throw new Error(`account ${existing}: its previous key registration is not processed yet; rotate again after the next batch`);
  }
  await sendTx(c, custodian, custodianAbi, "registerTradingKey", [...publicKey]);
  return accountOf(c.publicClient, custodian, c.walletClient.account!.address);
}

/**
 * Approves and deposits `amount` of `token` (the custodian's token `tokenId`) into the wallet's account. Throws,
 * sending nothing, when `amount` is below the token's minimum deposit.
 */
export async function deposit(c: ChainClients, custodian: Address, token: Address, tokenId: number, amount: bigint): Promise<void> {
  const minimum = await minDeposit(c.publicClient, custodian, tokenId);
  if (amount < minimum) throw new RangeError(`deposit of ${amount} is below token ${tokenId}'s minimum deposit ${minimum}`);
  await sendTx(c, token, erc20Abi, "approve", [custodian, amount]);
  await sendTx(c, custodian, custodianAbi, "deposit", [tokenId, amount]);
}

/** Claims to the wallet what proven withdrawals credited it in token `tokenId`. */
export async function claimWithdrawal(c: ChainClients, custodian: Address, tokenId: number): Promise<void> {
  await sendTx(c, custodian, custodianAbi, "withdraw", [tokenId]);
}

/** A credited token whose pull (claimWithdrawal) failed: its id and the first line of the error. */
export type FailedPull = { tokenId: number; error: string };

/**
 * Pulls the wallet's credit of token `tokenId` (claimWithdrawal): undefined when it was pulled, else the first line
 * of the error (a paused or blacklisting token refusing the transfer), the credit waiting in withdrawable. Every pull
 * after a claim goes through here: the claim is done by then, and its result must not be lost to a token's refusal.
 */
export async function pull(c: ChainClients, custodian: Address, tokenId: number): Promise<string | undefined> {
  try {
    await claimWithdrawal(c, custodian, tokenId);
    return undefined;
  } catch (e) {
    return firstLine(e);
  }
}

/**
 * Pulls every token of `credited` (amounts by token id) that is not 0, each on its own, after an exit: one the token
 * refuses is reported, never thrown, and the others are pulled all the same (the exit is done, once only, and its
 * result must reach the trader: the SDK's exitAccount and the explorer page both pull through here).
 */
export async function pullCredited(c: ChainClients, custodian: Address, credited: readonly bigint[]): Promise<FailedPull[]> {
  const failed: FailedPull[] = [];
  for (const [tokenId, amount] of credited.entries()) {
    if (amount === 0n) continue;
    const error = await pull(c, custodian, tokenId);
    if (error !== undefined) failed.push({ tokenId, error });
  }
  return failed;
}

/** Where the custodian stands on exits: exodus mode, when it becomes available, the deadline, open forced requests. */
export type ExodusStatus = {
  exodusMode: boolean;
  /** Unix seconds at which anyone may activate exodus; null while no request is queued unconsumed. */
  exodusAvailableAt: bigint | null;
  requestDeadline: bigint;
  openForcedRequests: number;
  /** Forced requests waiting for a place under MAX_OPEN_FORCED_REQUESTS (admitted by the next batches, oldest first). */
  waitingForcedRequests: number;
};

export async function exodusStatus(publicClient: PublicClient, custodian: Address): Promise<ExodusStatus> {
  const read = <T>(functionName: string) => publicClient.readContract({ address: custodian, abi: custodianAbi, functionName } as never) as Promise<T>;
  const availableAt = await read<bigint>("exodusAvailableAt");
  return {
    exodusMode: await read<boolean>("exodusMode"),
    exodusAvailableAt: availableAt === 2n ** 256n - 1n ? null : availableAt,
    requestDeadline: await read<bigint>("requestDeadline"),
    openForcedRequests: Number(await read<number>("openForcedRequests")),
    waitingForcedRequests: await read<readonly [bigint, bigint]>("waitingLine").then(([head, tail]) => Number(tail - head)),
  };
}

/**
 * What forceWithdraw returns for a request that waits for a place in the queue (the custodian's WAITING: its
 * MAX_OPEN_FORCED_REQUESTS places were taken): the next batches that consume forced requests admit it, oldest first.
 */
export const FORCED_WAITING = 2n ** 48n - 2n;

/**
 * Queues a forced withdrawal of `amount` of spot token `tokenId` from the wallet's account (the operator must
 * process it within the custodian's request deadline, or anyone may activate exodus). Throws, sending nothing,
 * when the wallet has no account or `amount` is 0. Returns the request's queue index, or FORCED_WAITING when it
 * waits in line for a place (docs/client.md 10).
 */
export async function forceWithdraw(c: ChainClients, custodian: Address, tokenId: number, amount: bigint): Promise<bigint> {
  return sendForced(c, custodian, amount, "forceWithdraw", [tokenId, amount]);
}

/** As forceWithdraw, for `amount` of the account's derivatives collateral (quote, token 0). */
export async function forceWithdrawCollateral(c: ChainClients, custodian: Address, amount: bigint): Promise<bigint> {
  return sendForced(c, custodian, amount, "forceWithdrawCollateral", [amount]);
}

/**
 * Queues a forced close of `lots` of the wallet's account's position in instrument `instrumentId` against account
 * `counterpartyId`, which holds the other side (docs/client.md 10): the next batches must prove it, honoured when
 * both positions hold the lots (the lots then pass at the batch's mark), within the request deadline, or exodus opens.
 * `closeCounterparty` finds a counterparty in a state rebuilt from chain data. Returns as forceWithdraw.
 */
export async function forceClose(c: ChainClients, custodian: Address, instrumentId: number, counterpartyId: number, lots: bigint): Promise<bigint> {
  return sendForced(c, custodian, lots, "forceClose", [instrumentId, counterpartyId, lots]);
}

async function sendForced(c: ChainClients, custodian: Address, amount: bigint, functionName: string, args: readonly unknown[]): Promise<bigint> {
  if (amount <= 0n) throw new RangeError("a forced request must be of a positive amount (or number of lots)");
  const owner = c.walletClient.account!.address;
  if ((await accountOf(c.publicClient, custodian, owner)) === 0) throw new Error(`${owner} has no account on the custodian`);
  const receipt = await sendTx(c, custodian, custodianAbi, functionName, args);
  // with MAX_OPEN_FORCED_REQUESTS open, the request waits in line (ForcedWithdrawalWaiting): a batch admits it
  if (parseEventLogs({ abi: custodianAbi, logs: receipt.logs, eventName: "ForcedWithdrawalWaiting" }).length > 0) return FORCED_WAITING;
  return queuedIndex(receipt, functionName);
}

/** Sends a call that queues one request and returns its queue index (from the custodian's RequestQueued event). */
async function sendRequest(c: ChainClients, custodian: Address, functionName: string, args: readonly unknown[]): Promise<bigint> {
  return queuedIndex(await sendTx(c, custodian, custodianAbi, functionName, args), functionName);
}

function queuedIndex(receipt: Awaited<ReturnType<typeof sendTx>>, functionName: string): bigint {
  const [queued] = parseEventLogs({ abi: custodianAbi, logs: receipt.logs, eventName: "RequestQueued" });
  if (!queued) throw new Error(`${functionName}: the custodian emitted no RequestQueued event`);
  return queued.args.index;
}

/**
 * The operator queues a withdrawal of `amount` of the fee pool (FEE_WITHDRAW) for the custodian's fee recipient
 * (the insurance fund's withdrawal goes through the timelock: requestInsuranceWithdrawalCalldata);
 * a batch proves it honoured (the recipient is credited in quote, token 0, and pulls it with claimWithdrawal) or
 * refused. The wallet must hold OPERATOR_ROLE. Throws, sending nothing, when `amount` is not positive or the wallet
 * is no operator. Returns the request's queue index.
 */
export async function requestFeeWithdrawal(c: ChainClients, custodian: Address, amount: bigint): Promise<bigint> {
  return sendTreasury(c, custodian, amount, "requestFeeWithdrawal");
}

/**
 * The calldata of `requestInsuranceWithdrawal(amount)` on the custodian, for its admin timelock to schedule and
 * execute after the delay (as setTreasuryRecipientsCalldata): only TIMELOCK_ROLE may queue an INSURANCE_WITHDRAW
 * (paid to the custodian's insurance recipient), so traders see a withdrawal of the fund coming. Throws when `amount`
 * is not positive or does not fit the request's 96 bits.
 */
export function requestInsuranceWithdrawalCalldata(amount: bigint): Hex {
  if (amount <= 0n || amount >= 1n << 96n) throw new RangeError("an insurance withdrawal must be of a positive amount below 2^96");
  return encodeFunctionData({ abi: custodianAbi, functionName: "requestInsuranceWithdrawal", args: [amount] });
}

async function sendTreasury(c: ChainClients, custodian: Address, amount: bigint, functionName: string): Promise<bigint> {
  if (amount <= 0n) throw new RangeError("a treasury withdrawal must be of a positive amount");
  const read = (name: string, args: readonly unknown[] = []) => c.publicClient.readContract({ address: custodian, abi: custodianAbi, functionName: name, args } as never) as Promise<unknown>;
  const me = c.walletClient.account!.address;
  if (!(await read("hasRole", [await read("OPERATOR_ROLE"), me]))) throw new Error(`${me} is not an operator of the custodian`);
  return sendRequest(c, custodian, functionName, [amount]);
}

/**
 * The calldata of `setTreasuryRecipients(fee, insurance)` on the custodian, for its admin timelock to schedule
 * (TimelockController.schedule(custodian, 0, data, predecessor, salt, delay), then execute after the delay): only
 * TIMELOCK_ROLE may change the recipients. Throws on a zero address, which the custodian refuses.
 */
export function setTreasuryRecipientsCalldata(fee: Address, insurance: Address): Hex {
  if (fee === zeroAddress || insurance === zeroAddress) throw new RangeError("treasury recipients must be non-zero addresses");
  return encodeFunctionData({ abi: custodianAbi, functionName: "setTreasuryRecipients", args: [fee, insurance] });
}

/** Switches the custodian to exodus mode (anyone may, once a request is past its deadline). Throws, sending nothing, before that. */
export async function activateExodus(c: ChainClients, custodian: Address): Promise<void> {
  const status = await exodusStatus(c.publicClient, custodian);
  if (status.exodusMode) return;
  const block = await c.publicClient.getBlock();
  if (status.exodusAvailableAt === null || block.timestamp < status.exodusAvailableAt) {
    throw new Error(`exodus is not available yet${status.exodusAvailableAt === null ? " (no request is waiting)" : ` (at ${status.exodusAvailableAt})`}`);
  }
  await sendTx(c, custodian, custodianAbi, "activateExodus", []);
}

/**
 * In exodus, refunds queued deposit `index` (never consumed by a batch) to its depositor: the custodian credits the
 * depositor's withdrawable, which it pulls with claimWithdrawal (anyone may send the refund; the record must be the
 * queued one).
 */
export async function refundDeposit(c: ChainClients, custodian: Address, index: bigint, deposit: { accountId: number; tokenId: number; amount: bigint }): Promise<void> {
  await sendTx(c, custodian, custodianAbi, "refundDeposit", [index, deposit.accountId, deposit.tokenId, deposit.amount]);
}

/** What an exit sends besides its proof (exitPublicData.ts's ExitClaim without the root and prices, which the custodian supplies). */
export type ExitCall = { accountId: number; amounts: readonly bigint[]; pooledQuote: bigint; derivativesClaim: bigint };

/**
 * What the custodian credited for an exit, read from the exit's receipt (its Exited and ExitRemainderRecorded events),
 * and what it keeps for the claim window (read from the custodian at the exit's block: no event carries it).
 */
export type ExitPayout = {
  /** Credited per token id: the spot amount paid, plus, for token 0, derivativesPaid. Pull each with claimWithdrawal. */
  paid: bigint[];
  /** The spot part paid per token id (the event's `paid`). */
  spotPaid: bigint[];
  /**
   * The derivatives claim as proven, and what the custodian paid of it at once (0 within the claim window; after it,
   * what was due as far as token 0 was free).
   */
  derivativesClaimed: bigint;
  derivativesPaid: bigint;
  /**
   * What waits for claimDerivatives (0: none): the claim recorded within the claim window, paid once it ends; after
   * the window, the part of what was due that token 0 could not pay at the exit, paid in full once it is free.
   * null when the custodian could not be read after the exit and the account had a claim (see `warnings`).
   */
  derivativesPending: bigint | null;
  /** When the claim window ends (unix seconds); null when the custodian could not be read after the exit (`warnings`). */
  claimWindowEnd: bigint | null;
  /**
   * Per token id, the spot amount the exit could not pay (the custodian read less of the token free than claimed,
   * as when its balanceOf failed) and recorded for claimExitRemainder (its ExitRemainderRecorded events; 0: none).
   */
  remainders: bigint[];
  /**
   * What could not be read after the exit went through, one line each with the exit's hash and the follow-up that
   * reads it again (pendingExitClaims; `npm run cli -- exit-remainders`); empty when nothing failed. The exit's own
   * outcome (the fields above but derivativesPending and claimWindowEnd) comes from its receipt and is always there.
   */
  warnings: string[];
  hash: Hash;
};

/**
 * In exodus, sends the wallet's exit claim: `exit(accountId, amounts, pooledQuote, derivativesClaim, proof)`, the
 * spot amount per token id, the frozen state's pooled quote and the derivatives claim as the exit proof (flattened
 * as submitBatch's) proves them (exitWitness builds all of it). The custodian credits the spot amounts at once; the
 * derivatives claim it records while the claim window is open (paid pro rata once it ends: claimDerivatives), or
 * after the window pays at once out of what the window's claims left (its Exited event). Claim each credited
 * token with claimWithdrawal.
 *
 * An exit happens once (a second one is refused, AlreadyExited), so once it went through this returns what it did:
 * what was paid and recorded comes from its receipt; the claim window (exodusClaim, read at the exit's block) is the
 * only read after it, and when that read fails its fields are null (derivativesPending is 0 all the same for an
 * account without a claim) and `warnings` says so, with the exit's hash, instead of throwing. Throws only before the
 * exit is sent, when it reverts, or when its receipt cannot be read (the error names its hash).
 */
export async function exit(c: ChainClients, custodian: Address, claim: ExitCall, proof: readonly bigint[]): Promise<ExitPayout> {
  if (proof.length !== 8) throw new RangeError("an exit proof is 8 field elements");
  const receipt = await sendTx(c, custodian, custodianAbi, "exit", [claim.accountId, claim.amounts, claim.pooledQuote, claim.derivativesClaim, proof]);
  const hash = receipt.transactionHash;
  const logs = receipt.logs.filter((l) => isAddressEqual(l.address, custodian));
  const [exited] = parseEventLogs({ abi: custodianAbi, logs, eventName: "Exited" });
  if (!exited) throw new Error(`exit ${hash} went through but the custodian emitted no Exited event (is ${custodian} the custodian?)`);
  const { paid: spotPaid, derivativesClaimed, derivativesPaid } = exited.args;
  const paid = spotPaid.map((v, t) => (t === 0 ? v + derivativesPaid : v));
  const remainders = spotPaid.map(() => 0n);
  for (const ev of parseEventLogs({ abi: custodianAbi, logs, eventName: "ExitRemainderRecorded" })) remainders[ev.args.tokenId] = ev.args.amount;
  const payout = { paid, spotPaid: [...spotPaid], derivativesClaimed, derivativesPaid, remainders, hash };
  // The exit went through: from here nothing may throw, or the trader would lose what it did (and cannot exit again).
  try {
    const window = await exodusClaim(c.publicClient, custodian, claim.accountId, receipt.blockNumber);
    return { ...payout, derivativesPending: window.pending, claimWindowEnd: window.windowEnd, warnings: [] };
  } catch (e) {
    const warning =
      `exit ${hash} went through (paid and recorded as its receipt says), but reading the claim window after it failed (${firstLine(e)}): ` +
      `what waits for account ${claim.accountId} is read again by pendingExitClaims (npm run cli -- exit-remainders --for-account ${claim.accountId})`;
    return { ...payout, derivativesPending: derivativesClaimed === 0n ? 0n : null, claimWindowEnd: null, warnings: [warning] };
  }
}

/**
 * Pays account `accountId`'s exit remainder of token `tokenId` (what its exit recorded as not paid: ExitPayout's
 * `remainders`) in full, credited to the account's owner (pull it with claimWithdrawal); anyone may send it. The
 * custodian refuses, paying nothing, while it holds less of the token beyond what it owes than the remainder
 * (ClaimNotCovered: retry once the token answers) or when none waits (NoExitRemainder: paid already, or never
 * recorded).
 */
export async function claimExitRemainder(c: ChainClients, custodian: Address, accountId: number, tokenId: number): Promise<{ amount: bigint; hash: Hash }> {
  const receipt = await sendTx(c, custodian, custodianAbi, "claimExitRemainder", [accountId, tokenId]);
  const [ev] = parseEventLogs({ abi: custodianAbi, logs: receipt.logs.filter((l) => isAddressEqual(l.address, custodian)), eventName: "ExitRemainderPaid" });
  if (!ev) throw new Error(`claimExitRemainder ${receipt.transactionHash} went through but the custodian emitted no ExitRemainderPaid event`);
  return { amount: ev.args.amount, hash: receipt.transactionHash };
}

/** The custodian's exodus claim window (`exodusClaim`) and an account's claim waiting in it. */
export type ExodusClaim = {
  /** When the window ends, unix seconds (0 before exodus). */
  windowEnd: bigint;
  /** The derivatives claims exits recorded within the window, together. */
  windowClaims: bigint;
  /** The pot they share: the frozen state's pooled quote (0 until an exit with a claim). */
  pot: bigint;
  /** The account's claim waiting for claimDerivatives (0: none): recorded in the window, or what a late exit was due and token 0 could not pay. */
  pending: bigint;
};

/** Reads the exodus claim window and account `accountId`'s pending derivatives claim (as of `blockNumber`, default the latest block). */
export async function exodusClaim(publicClient: PublicClient, custodian: Address, accountId: number, blockNumber?: bigint): Promise<ExodusClaim> {
  const [windowEnd, windowClaims, pot, pending] = await publicClient.readContract({
    address: custodian, abi: custodianAbi, functionName: "exodusClaim", args: [accountId], ...(blockNumber === undefined ? {} : { blockNumber }),
  });
  return { windowEnd, windowClaims, pot, pending };
}

/** What claimDerivatives paid (its DerivativesClaimPaid event): the claim, and the share of the pot credited for it. */
export type DerivativesPayout = { claimed: bigint; paid: bigint; hash: Hash };

/**
 * Once the claim window has ended, pays account `accountId`'s pending derivatives claim: one recorded within the
 * window, `claim * pot / max(pot, windowClaims)` in token 0, or the part a late exit could not pay, in full;
 * credited to the account's owner (pull it with claimWithdrawal). Anyone may send it. Throws, sending nothing, while
 * the window is open or when the account has no claim waiting.
 */
export async function claimDerivatives(c: ChainClients, custodian: Address, accountId: number): Promise<DerivativesPayout> {
  const window = await exodusClaim(c.publicClient, custodian, accountId);
  if (window.pending === 0n) throw new Error(`account ${accountId} has no derivatives claim waiting (none was recorded by its exit, or it was paid)`);
  const { timestamp } = await c.publicClient.getBlock();
  if (timestamp < window.windowEnd) throw new Error(`the claim window is open until ${window.windowEnd} (${new Date(Number(window.windowEnd) * 1000).toISOString()}): claims are paid once it ends`);
  const receipt = await sendTx(c, custodian, custodianAbi, "claimDerivatives", [accountId]);
  const [ev] = parseEventLogs({ abi: custodianAbi, logs: receipt.logs.filter((l) => isAddressEqual(l.address, custodian)), eventName: "DerivativesClaimPaid" });
  if (!ev) throw new Error(`claimDerivatives ${receipt.transactionHash} went through but the custodian emitted no DerivativesClaimPaid event`);
  return { claimed: ev.args.claimed, paid: ev.args.paid, hash: receipt.transactionHash };
}
