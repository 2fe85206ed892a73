/**
 * A stateful random test of the custodian's ledger: a seeded sequence of every call that moves it, in random order,
 * over a custodian with the mock batch and exit verifiers (TEST_PARAMS), USDC (token 0), WETH (token 1) and a
 * QuirkyToken (token 2) that at times burns a fee on every transfer, mints a bonus to the recipient, refuses every
 * transfer, or calls back into the custodian during one. Batches are built
 * honestly by the sequencer's own witness builder (buildBatch) over an ExchangeState kept beside the chain, so the
 * custodian accepts them (the mock verifier stands in for the proof). Exits are sent with any claim, honest (the
 * model's balances) or inflated: the mock exit verifier accepts both, so the custodian's own caps must keep custody.
 *
 * After every step, for each registered token t (the ledger the custodian documents: `owed` is "credited
 * withdrawable not yet pulled plus queued deposits no batch consumed and not refunded"; exit remainders and
 * pending derivatives claims are not in it until paid):
 *   - token.balanceOf(custodian) >= owed[t];
 *   - owed[t] == sum over every address of withdrawable[address][t]
 *                + sum of the DEPOSIT requests of t at index >= processedRequests not refunded;
 *   - before exodus, exactly: balanceOf(custodian) == owed[t] + what the rollup state holds of t (every account's
 *     balance, and for the quote the pooled quote, fee pool included) + what was sent to the custodian without a
 *     deposit (the model's donations);
 *   - a call that reverted did so with a custom error the step expects (the custodian's documented errors, or the
 *     token's own failure while it refuses transfers) and changed nothing of the ledger;
 *   - after exodus nobody is paid twice: one Exited per account, an account's spot credits of a token (exit plus
 *     remainder) never above what its exit claimed, its derivatives credits never above its claim, each deposit
 *     refunded at most once and for its amount.
 * Prints one line of what the run exercised and, for the default run (neither variable set), asserts every kind of
 * step happened (steps whose kinds have not happened yet are drawn 4 times as often).
 *
 * LEDGER_SEED (default 1) and LEDGER_STEPS (default DEFAULT_STEPS) choose the run; the contracts lane
 * (npm run test:contracts) runs the default.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { network } from "hardhat";
import { BaseError, ContractFunctionRevertedError, decodeErrorResult, encodeFunctionData, getAddress, zeroAddress, getContract, parseEventLogs, type Address, type Hex, type TransactionReceipt } from "viem";

import { buildBatch } from "../../sequencer/batch/batchWitness.ts";
import { TxRejected } from "../../sequencer/batch/slotWitness.ts";
import { custodianAbi } from "../../sequencer/chain/abi.ts";
import { custodianArgs } from "../../sequencer/chain/custodianArgs.ts";
import { publicKeyOf } from "../../sequencer/crypto/babyjub.ts";
import { EXODUS_CLAIM_WINDOW, Side, TxType } from "../../sequencer/protocol/constants.ts";
import { exitTokenCount } from "../../sequencer/protocol/exitPublicData.ts";
import { TEST_PARAMS } from "../../sequencer/protocol/params.ts";
import { signWithdrawal } from "../../sequencer/protocol/signing.ts";
import type { BatchTx } from "../../sequencer/protocol/transactions.ts";
import { ExchangeState } from "../../sequencer/state/exchangeState.ts";
import { order } from "../helpers/traders.ts";
import { quirkyTokenAbi, testTokenAbi } from "./abis.ts";
import { REVERTS } from "./exitFixture.ts";
import { PROOF, TEST_REQUEST_DEADLINE, batchBytes, deployExitRoles, deployNamed, hex } from "./helpers.ts";

const DEFAULT_STEPS = 250;
const SEED = Number(process.env.LEDGER_SEED ?? "1");
const STEPS = Number(process.env.LEDGER_STEPS ?? String(DEFAULT_STEPS));
const DEFAULT_RUN = process.env.LEDGER_SEED === undefined && process.env.LEDGER_STEPS === undefined;

const connection = await network.create();
const { viem, networkHelpers } = connection;

const P = TEST_PARAMS;
const TOKENS = 3; // registered: USDC, WETH, QuirkyToken
const EXIT_TOKENS = exitTokenCount(P);
const MIN_DEPOSIT = [1_000n, 1_000n, 100n] as const;
/** Spot market 0: WETH against USDC, 1,000 base units a lot, 10 quote a tick per lot. */
const MARKET = { marketId: 0, baseTokenId: 1, sizeUnit: 1_000n, priceUnit: 10n };
/** An address whose code reverts every call: QuirkyToken hooked to it refuses every transfer. */
const REFUSER: Address = "0x000000000000000000000000000000000000dEaD";
const QUIRKY_MODES = ["plain", "fee", "bonus", "refuse", "reenter"] as const;

/** mulberry32: a small seeded generator, so a seed replays the same run. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const big = (lo: bigint, hi: bigint) => lo + (BigInt(Math.floor(next() * 2 ** 52)) * (hi - lo + 1n)) / 2n ** 52n;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  return { next, int, big, pick, chance: (p: number) => next() < p };
}

/** Errors a token's transfer bubbles up through the custodian: OpenZeppelin's FailedCall (QuirkyToken's hook refused) and ERC-20's. */
const TOKEN_ERRORS = [{ type: "error", name: "FailedCall", inputs: [] }, ...testTokenAbi.filter((x) => x.type === "error")] as const;

/** The custom error a failed call reverted with (its name, or its selector when no ABI knows it), or why it failed otherwise. */
function revertName(e: unknown): string {
  if (e instanceof BaseError) {
    const r = e.walk((x) => x instanceof ContractFunctionRevertedError);
    if (r instanceof ContractFunctionRevertedError) {
      if (r.data?.errorName) return r.data.errorName;
      if (r.raw) {
        try {
          return decodeErrorResult({ abi: TOKEN_ERRORS, data: r.raw }).errorName;
        } catch {
          // not a token's error either: its selector
        }
      }
      return r.signature ?? `reason: ${r.reason}`;
    }
  }
  return `not a revert: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`;
}

type Pending = { index: number; tx: BatchTx; deposit?: { tokenId: number; amount: bigint } };
type Actor = { wallet: Awaited<ReturnType<typeof viem.getWalletClients>>[number]; address: Address; accountId: number; key: Uint8Array; keySeq: number; pendingKey: Uint8Array | null; nextOrderId: bigint };

async function deploy() {
  const publicClient = await viem.getPublicClient();
  const wallets = await viem.getWalletClients();
  const [admin, operator, donor] = wallets;
  const state = new ExchangeState(P);
  const verifier = await deployNamed(viem, "MockVerifier");
  const roles = await deployExitRoles(viem, admin.account.address);
  const contract = async <const A extends typeof testTokenAbi | typeof quirkyTokenAbi>(abi: A, name: string, args: readonly unknown[] = []) =>
    getContract({ abi, address: await deployNamed(viem, name, args), client: { public: publicClient, wallet: admin } });
  const usdc = await contract(testTokenAbi, "TestToken", ["USD Coin", "USDC", 6]);
  const weth = await contract(testTokenAbi, "TestToken", ["Wrapped Ether", "WETH", 18]);
  const quirky = await contract(quirkyTokenAbi, "QuirkyToken");
  /** The QuirkyToken as the ERC-20 it is, beside the others. */
  const quirkyErc20 = getContract({ abi: testTokenAbi, address: quirky.address, client: { public: publicClient, wallet: admin } });
  const address = await deployNamed(viem, "Custodian", custodianArgs(P, {
    verifier, genesisRoot: state.root, quoteToken: usdc.address, quoteMinDeposit: MIN_DEPOSIT[0], admin: admin.account.address, operator: operator.account.address, ...roles,
  }));
  const custodian = getContract({ abi: custodianAbi, address, client: { public: publicClient, wallet: admin } });
  await custodian.write.registerToken([weth.address, MIN_DEPOSIT[1]]);
  await custodian.write.registerToken([quirky.address, MIN_DEPOSIT[2]]);
  await networkHelpers.setCode(REFUSER, REVERTS);
  const actors: Actor[] = wallets.slice(3, 11).map((wallet) => ({
    wallet, address: getAddress(wallet.account.address), accountId: 0, key: new Uint8Array(32), keySeq: 0, pendingKey: null, nextOrderId: 1n,
  }));
  for (const w of [...actors.map((a) => a.wallet), donor]) {
    for (const t of [usdc, weth, quirkyErc20]) {
      await t.write.mint([w.account.address, 10n ** 15n]);
      await t.write.approve([address, 2n ** 256n - 1n], { account: w.account });
    }
  }
  return { publicClient, admin, operator, donor, state, custodian, tokens: [usdc, weth, quirkyErc20], quirky, actors, timelock: roles.timelock };
}

describe(`the custodian's ledger under a random sequence of calls (LEDGER_SEED=${SEED}, LEDGER_STEPS=${STEPS})`, () => {
  it("keeps every token's holdings at or above what it owes, owes exactly what it credited plus the deposits it still holds, reverts only with the errors it documents and changing nothing, and pays nobody twice", async () => {
    const env = await deploy();
    const { publicClient, admin, operator, donor, state, custodian, tokens, quirky, actors } = env;
    const r = rng(SEED);
    const counts = new Map<string, number>();
    const count = (k: string, n = 1) => counts.set(k, (counts.get(k) ?? 0) + n);

    // ---- the model beside the chain
    const pending: Pending[] = []; // queued requests not yet consumed, in queue order
    const deposits = new Map<number, { by: Address; accountId: number; tokenId: number; amount: bigint; refunded: boolean }>();
    const donated = [0n, 0n, 0n];
    /**
     * What QuirkyToken's transfers do now: plain; burn a fee; mint the recipient a bonus; refuse (its hook calls a
     * contract that reverts: FailedCall); or call back into the custodian (its hook calls `withdraw(2)`, a reentry:
     * ReentrancyGuardReentrantCall inside the custodian's own transfers, NothingToWithdraw otherwise).
     */
    let quirkyMode: (typeof QUIRKY_MODES)[number] = "plain";
    /** The error a QuirkyToken transfer the custodian makes or takes reverts with in the current mode, if any. */
    const quirkyRefusal = (): string[] => (quirkyMode === "refuse" ? ["FailedCall"] : quirkyMode === "reenter" ? ["ReentrancyGuardReentrantCall"] : []);
    let exodus = false;
    /** The pooled quote every inflated exit's claim carries (the pot of the derivatives claims). */
    const forgedPot = r.big(1_000_000n, 4_000_000n);
    let feePending = false;
    let insurancePending = false;
    const forcedPending = new Set<number>();
    // exodus bookkeeping: what each account's exit claimed, and what was credited for it
    const exitClaims = new Map<number, { amounts: bigint[]; derivativesClaim: bigint }>();
    const exitedEvents = new Map<number, number>();
    const spotCredited = new Map<string, bigint>(); // `${accountId}:${t}`
    const derivCredited = new Map<number, bigint>();
    const remainders = new Map<string, bigint>(); // recorded and not yet paid
    const refundedEvents = new Map<number, number>();
    const addresses = () => [getAddress(admin.account.address), getAddress(operator.account.address), getAddress(donor.account.address), ...actors.map((a) => a.address)];
    const registered = () => actors.filter((a) => a.accountId !== 0);
    const now = async () => Number(await networkHelpers.time.latest());

    // ---- the ledger and its invariants
    const ledger = async () => {
      const snap: Record<string, string> = {};
      for (let t = 0; t < TOKENS; t++) {
        snap[`owed${t}`] = String(await custodian.read.owed([t]));
        snap[`held${t}`] = String(await tokens[t].read.balanceOf([custodian.address]));
        for (const a of addresses()) snap[`w${t}:${a}`] = String(await custodian.read.withdrawable([a, t]));
      }
      for (const k of ["stateRoot", "batchCount", "processedRequests", "requestCount", "exodusMode", "openForcedRequests", "exodusDerivativesPaid"] as const) {
        snap[k] = String(await (custodian.read[k] as () => Promise<unknown>)());
      }
      return snap;
    };
    const stateHolds = (t: number) => {
      let sum = t === 0 ? state.globals.pooledQuote : 0n;
      for (const a of registered()) sum += state.balance(a.accountId, t);
      return sum;
    };
    const checkInvariants = async (step: number, what: string) => {
      const processed = Number(await custodian.read.processedRequests());
      for (let t = 0; t < TOKENS; t++) {
        const held = await tokens[t].read.balanceOf([custodian.address]);
        const owed = await custodian.read.owed([t]);
        const at = `step ${step} (${what}), token ${t}`;
        assert.ok(held >= owed, `${at}: the custodian holds ${held}, less than the ${owed} it owes`);
        let credited = 0n;
        for (const a of addresses()) credited += await custodian.read.withdrawable([a, t]);
        let queued = 0n;
        for (const [index, d] of deposits) if (index >= processed && !d.refunded && d.tokenId === t) queued += d.amount;
        assert.equal(owed, credited + queued, `${at}: owed ${owed} is not the credited ${credited} plus the queued deposits ${queued}`);
        if (!exodus) {
          assert.equal(held, owed + stateHolds(t) + donated[t]!, `${at}: holdings ${held} are not owed ${owed} + the state's ${stateHolds(t)} + donations ${donated[t]}`);
        }
      }
      for (const [id, n] of exitedEvents) assert.ok(n <= 1, `step ${step}: account ${id} exited ${n} times`);
      for (const [index, n] of refundedEvents) assert.ok(n <= 1, `step ${step}: deposit ${index} refunded ${n} times`);
      for (const [id, claim] of exitClaims) {
        for (let t = 0; t < TOKENS; t++) {
          const paid = spotCredited.get(`${id}:${t}`) ?? 0n;
          assert.ok(paid <= claim.amounts[t]!, `step ${step}: account ${id} was credited ${paid} of token ${t} for an exit claiming ${claim.amounts[t]}`);
        }
        const d = derivCredited.get(id) ?? 0n;
        assert.ok(d <= claim.derivativesClaim, `step ${step}: account ${id} was credited ${d} for a derivatives claim of ${claim.derivativesClaim}`);
      }
    };

    /** What the custodian's events in `receipt` say was paid in exodus, into the bookkeeping above. */
    const recordExodusEvents = (receipt: TransactionReceipt) => {
      for (const log of parseEventLogs({ abi: custodianAbi, logs: receipt.logs })) {
        const a = log.args as Record<string, unknown>;
        switch (log.eventName) {
          case "Exited": {
            const id = Number(a.accountId);
            exitedEvents.set(id, (exitedEvents.get(id) ?? 0) + 1);
            (a.paid as bigint[]).forEach((p, t) => spotCredited.set(`${id}:${t}`, (spotCredited.get(`${id}:${t}`) ?? 0n) + p));
            derivCredited.set(id, (derivCredited.get(id) ?? 0n) + (a.derivativesPaid as bigint));
            break;
          }
          case "ExitRemainderRecorded":
            remainders.set(`${a.accountId}:${a.tokenId}`, a.amount as bigint);
            count("remainderRecorded");
            break;
          case "ExitRemainderPaid": {
            const k = `${a.accountId}:${a.tokenId}`;
            assert.equal(a.amount, remainders.get(k), `remainder ${k} paid other than recorded`);
            remainders.delete(k);
            spotCredited.set(k, (spotCredited.get(k) ?? 0n) + (a.amount as bigint));
            break;
          }
          case "DerivativesClaimPaid": {
            const id = Number(a.accountId);
            derivCredited.set(id, (derivCredited.get(id) ?? 0n) + (a.paid as bigint));
            break;
          }
          case "DepositRefunded": {
            const index = Number(a.index);
            refundedEvents.set(index, (refundedEvents.get(index) ?? 0) + 1);
            const d = deposits.get(index)!;
            assert.equal(a.amount, d.amount, `deposit ${index} refunded other than deposited`);
            assert.equal(getAddress(a.depositor as Address), d.by, `deposit ${index} refunded to another address`);
            d.refunded = true;
            break;
          }
        }
      }
    };

    /**
     * Sends one call. Accepted: returns its receipt. Reverted: its error must be one of `expected` (the step knows
     * which refusal the ledger calls for), and the ledger must read as before; returns the error's name.
     */
    const send = async (what: string, call: () => Promise<Hex>, expected: readonly string[]): Promise<TransactionReceipt | string> => {
      const before = await ledger();
      try {
        const receipt = await publicClient.waitForTransactionReceipt({ hash: await call() });
        assert.equal(receipt.status, "success", `${what}: mined as reverted`);
        recordExodusEvents(receipt);
        return receipt;
      } catch (e) {
        if (e instanceof assert.AssertionError) throw e;
        const name = revertName(e);
        assert.ok(expected.includes(name), `${what} reverted with ${name}, expected ${expected.length ? expected.join(" or ") : "success"}`);
        assert.deepEqual(await ledger(), before, `${what} reverted (${name}) but changed the ledger`);
        count(`refused:${name}`);
        return name;
      }
    };
    const ok = (x: TransactionReceipt | string): x is TransactionReceipt => typeof x !== "string";

    const queued = async (tx: BatchTx, deposit?: Pending["deposit"]) => {
      const index = Number(await custodian.read.requestCount()) - 1;
      assert.equal(index, (pending.at(-1)?.index ?? Number(await custodian.read.processedRequests()) - 1) + 1, "the model's queue is the custodian's");
      pending.push({ index, tx, deposit });
      return index;
    };

    // ---- the steps
    const register = async () => {
      const a = r.pick(actors);
      const seed = actors.indexOf(a) * 16 + ++a.keySeq + 40;
      const key = new Uint8Array(32).fill(seed);
      const [x, y] = publicKeyOf(key);
      const rotating = a.accountId !== 0;
      const res = await send("registerTradingKey", () => custodian.write.registerTradingKey([x, y], { account: a.wallet.account }), rotating && a.pendingKey ? ["KeyRotationPending"] : []);
      if (!ok(res)) return;
      if (!rotating) a.accountId = Number(await custodian.read.accountOf([a.address]));
      a.pendingKey = key;
      await queued({ type: TxType.REGISTER_KEY, accountId: a.accountId, pubKey: [x, y] });
      count(rotating ? "rotateKey" : "register");
    };

    /** Mostly an actor with an account (the others' calls are refused). */
    const someActor = () => (registered().length && r.chance(0.85) ? r.pick(registered()) : r.pick(actors));

    const deposit = async () => {
      const a = someActor();
      // half the deposits while QuirkyToken misbehaves are of it
      const t = quirkyMode !== "plain" && r.chance(0.5) ? 2 : r.int(0, TOKENS - 1);
      const to = r.chance(0.25) ? r.pick(registered().length ? registered() : actors) : a;
      const amount = r.chance(0.1) ? MIN_DEPOSIT[t]! : r.big(MIN_DEPOSIT[t]!, 5_000_000n);
      const expected: string[] = [];
      if (to.accountId === 0) expected.push(to === a ? "NoAccount" : "UnknownAccount");
      if (t === 2) expected.push(...quirkyRefusal());
      if (t === 2 && quirkyMode === "fee") expected.push("DepositBelowMinimum");
      const res = await send(
        `deposit of ${amount} of token ${t}`,
        () => (to === a ? custodian.write.deposit([t, amount], { account: a.wallet.account }) : custodian.write.depositTo([to.accountId, t, amount], { account: a.wallet.account })),
        expected,
      );
      if (!ok(res)) return;
      const [ev] = parseEventLogs({ abi: custodianAbi, logs: res.logs, eventName: "Deposited" });
      const received = ev!.args.amount;
      const index = await queued({ type: TxType.DEPOSIT, accountId: to.accountId, tokenId: t, amount: received }, { tokenId: t, amount: received });
      assert.equal(Number(ev!.args.requestIndex), index);
      deposits.set(index, { by: a.address, accountId: to.accountId, tokenId: t, amount: received, refunded: false });
      count(to === a ? "deposit" : "depositTo");
      if (received < amount) count("depositFeeOnTransfer");
    };

    const forceWithdraw = async () => {
      // mostly what the state holds (honoured unless spent first), else any amount (refused when beyond the balance)
      const holders = registered().flatMap((a) => [0, 1, 2].filter((t) => state.balance(a.accountId, t) > 0n).map((t) => [a, t] as const));
      const covered = holders.length > 0 && r.chance(0.6);
      const [a, t] = covered ? r.pick(holders) : [someActor(), r.int(0, TOKENS - 1)];
      const amount = covered ? r.big(1n, state.balance(a.accountId, t)) : r.big(1n, 10_000_000n);
      const expected = a.accountId === 0 ? ["NoAccount"] : forcedPending.has(a.accountId) ? ["ForcedRequestPending"] : [];
      const res = await send("forceWithdraw", () => custodian.write.forceWithdraw([t, amount], { account: a.wallet.account }), expected);
      if (!ok(res)) return;
      forcedPending.add(a.accountId);
      await queued({ type: TxType.FORCED_WITHDRAW, accountId: a.accountId, tokenId: t, amount });
      count("forceWithdraw");
    };

    const feeWithdrawal = async () => {
      const amount = r.chance(0.6) && state.feePool > 0n ? r.big(1n, state.feePool) : r.big(1n, 100_000n);
      const res = await send("requestFeeWithdrawal", () => custodian.write.requestFeeWithdrawal([amount], { account: operator.account }), feePending ? ["TreasuryRequestPending"] : []);
      if (!ok(res)) return;
      feePending = true;
      await queued({ type: TxType.FEE_WITHDRAW, amount });
      count("feeRequest");
    };

    const insuranceWithdrawal = async () => {
      // The timelock's call, impersonated (its schedule and delay are treasury.test.ts's).
      await networkHelpers.impersonateAccount(env.timelock);
      await networkHelpers.setBalance(env.timelock, 10n ** 18n);
      const amount = r.big(1n, 100_000n);
      const res = await send("requestInsuranceWithdrawal", () => custodian.write.requestInsuranceWithdrawal([amount], { account: env.timelock }), insurancePending ? ["TreasuryRequestPending"] : []);
      if (!ok(res)) return;
      insurancePending = true;
      await queued({ type: TxType.INSURANCE_WITHDRAW, amount });
      count("insuranceRequest");
    };

    /** The next batch: a prefix of the queue (spot requests, then at most one for the derivatives slot), WITHDRAWs and a TRADE in the spot slots left. */
    const batch = async () => {
      const spot: BatchTx[] = [];
      const deriv: BatchTx[] = [];
      const take = r.chance(0.5) ? P.slots : r.int(0, P.slots);
      let consumed = 0;
      for (const p of pending) {
        if (p.tx.type === TxType.INSURANCE_WITHDRAW) {
          if (deriv.length < P.derivSlots && r.chance(0.8)) {
            deriv.push(p.tx);
            consumed++;
          }
          break;
        }
        if (spot.length >= take) break;
        spot.push(p.tx);
        consumed++;
      }
      const extras: BatchTx[] = [];
      const live = registered().filter((a) => state.account(a.accountId).pubKey[0] !== 0n || state.account(a.accountId).pubKey[1] !== 0n);
      while (spot.length + extras.length < P.slots && live.length && r.chance(0.7)) {
        const buyers = live.filter((a) => state.balance(a.accountId, 0) >= 10_000n);
        const sellers = live.filter((a) => state.balance(a.accountId, MARKET.baseTokenId) >= 5n * MARKET.sizeUnit);
        if (r.chance(0.5) && buyers.length && sellers.some((x) => x !== buyers[0] || buyers.length > 1)) {
          const buyer = r.pick(buyers);
          const others = sellers.filter((x) => x !== buyer);
          if (!others.length) break;
          const seller = r.pick(others);
          const lots = BigInt(r.int(1, 5));
          const priceTicks = BigInt(r.int(50, 150));
          extras.push({
            type: TxType.TRADE, lots, priceTicks, buyFeePpm: 1000, sellFeePpm: 500,
            buy: order({ accountId: buyer.accountId, key: buyer.key, pubKey: publicKeyOf(buyer.key) }, { orderId: buyer.nextOrderId++, side: Side.BUY, priceTicks, sizeLots: lots }),
            sell: order({ accountId: seller.accountId, key: seller.key, pubKey: publicKeyOf(seller.key) }, { orderId: seller.nextOrderId++, side: Side.SELL, priceTicks, sizeLots: lots }),
          });
        } else {
          const a = r.pick(live);
          if (extras.some((x) => x.type === TxType.WITHDRAW && x.request.accountId === a.accountId)) break;
          const held = [0, 1, 2].filter((t) => state.balance(a.accountId, t) > 0n);
          if (!held.length) break;
          const t = r.pick(held);
          const balance = state.balance(a.accountId, t);
          const amount = r.chance(0.5) ? balance : r.big(1n, balance);
          extras.push({ type: TxType.WITHDRAW, request: signWithdrawal(a.key, { accountId: a.accountId, tokenId: t, amount, nonce: state.account(a.accountId).nonce }) });
        }
      }
      // WITHDRAWs and the TRADE first (signed with the keys the state holds now), then the requests in queue order
      let txs = [...extras, ...spot];
      let built;
      for (;;) {
        try {
          built = buildBatch(state, { spot: txs as never, deriv: deriv as never }, { batchNumber: Number(await custodian.read.batchCount()), timestamp: await now() });
          break;
        } catch (e) {
          // a trade the balances do not cover (or the like) leaves the batch; requests are never refused
          if (!(e instanceof TxRejected) || e.slot === undefined || e.slot >= extras.length) throw e;
          const dropped = txs[e.slot]!;
          extras.splice(extras.indexOf(dropped), 1);
          txs = [...extras, ...spot];
          count(`droppedFromBatch:${e.code}`);
        }
      }
      const res = await send("submitBatch", () => custodian.write.submitBatch([hex(built.publicData), PROOF], { account: operator.account }), []);
      assert.ok(ok(res), "an honest batch is accepted");
      for (const { tx } of pending.splice(0, consumed)) {
        if (tx.type === TxType.REGISTER_KEY) {
          const a = actors.find((x) => x.accountId === tx.accountId)!;
          if (a.pendingKey && publicKeyOf(a.pendingKey)[0] === tx.pubKey[0]) {
            a.key = a.pendingKey;
            a.pendingKey = null;
          }
        }
        if (tx.type === TxType.FORCED_WITHDRAW) forcedPending.delete(tx.accountId);
        if (tx.type === TxType.FEE_WITHDRAW) feePending = false;
        if (tx.type === TxType.INSURANCE_WITHDRAW) insurancePending = false;
      }
      for (const rec of built.records) {
        const honoured = "honoured" in rec ? rec.honoured === 1n : false;
        if (rec.type === TxType.WITHDRAW) count("withdrawCredited");
        if (rec.type === TxType.TRADE) count("trade");
        if (rec.type === TxType.DEPOSIT) count("depositConsumed");
        if (rec.type === TxType.FORCED_WITHDRAW) count(honoured ? "forcedHonoured" : "forcedRefused");
        if (rec.type === TxType.FEE_WITHDRAW) count(honoured ? "feeHonoured" : "feeRefused");
        if (rec.type === TxType.INSURANCE_WITHDRAW) count(honoured ? "insuranceHonoured" : "insuranceRefused");
      }
      count("batch");
    };

    const withdraw = async () => {
      const credits: [Address, number][] = [];
      for (const a of addresses()) for (let t = 0; t < TOKENS; t++) if ((await custodian.read.withdrawable([a, t])) > 0n) credits.push([a, t]);
      const [who, t] = credits.length && r.chance(0.8) ? r.pick(credits) : [r.pick(addresses()), r.int(0, TOKENS - 1)];
      const wallet = [admin, operator, donor, ...actors.map((x) => x.wallet)].find((w) => getAddress(w.account.address) === who)!;
      const credited = await custodian.read.withdrawable([who, t]);
      const expected = credited === 0n ? ["NothingToWithdraw"] : t === 2 ? quirkyRefusal() : [];
      const res = await send(`withdraw of token ${t} by ${who}`, () => custodian.write.withdraw([t], { account: wallet.account }), expected);
      if (ok(res)) count("withdraw");
    };

    const donate = async () => {
      const t = r.int(0, TOKENS - 1);
      if (t === 2 && quirkyRefusal().length) return; // the donor's own transfer would revert
      await give(t, r.big(1n, 2_000_000n) * (r.chance(0.3) ? 10n : 1n));
      count("donate");
    };

    const quirkyToggle = async () => {
      const modes = QUIRKY_MODES.filter((m) => m !== quirkyMode);
      quirkyMode = modes.find((m) => m !== "plain" && !counts.has(`quirky:${m}`)) ?? r.pick(modes);
      await quirky.write.setFeeBps([quirkyMode === "fee" ? BigInt(r.int(1, 9_000)) : 0n]);
      await quirky.write.setBonus([quirkyMode === "bonus" ? r.big(1n, 1_000n) : 0n]);
      const reenter = encodeFunctionData({ abi: custodianAbi, functionName: "withdraw", args: [2] });
      await quirky.write.setHook(quirkyMode === "refuse" ? [REFUSER, "0x"] : quirkyMode === "reenter" ? [custodian.address, reenter] : [zeroAddress, "0x"]);
      count(`quirky:${quirkyMode}`);
    };

    const timePasses = async (max: number) => {
      await networkHelpers.time.increase(r.int(1, max));
      count("time");
    };

    const tooEarlyExodus = async () => {
      const availableAt = await custodian.read.exodusAvailableAt();
      if (availableAt <= BigInt((await now()) + 1)) return;
      await send("activateExodus (early)", () => custodian.write.activateExodus(), ["ExodusNotAvailable"]);
    };

    const activateExodus = async () => {
      // a deposit nobody consumes, refunded in exodus
      if (!pending.some((p) => p.deposit)) {
        const a = registered()[0] ?? actors[0]!;
        if (a.accountId === 0) await register();
        const before = deposits.size;
        while (deposits.size === before) await deposit();
      }
      await networkHelpers.time.increase(TEST_REQUEST_DEADLINE);
      const res = await send("activateExodus", () => custodian.write.activateExodus(), []);
      assert.ok(ok(res));
      exodus = true;
      count("activateExodus");
    };

    /** What the custodian holds of token `t` beyond what it owes: what an exit or a claim may take. */
    const free = async (t: number) => {
      const held = await tokens[t].read.balanceOf([custodian.address]);
      const owed = await custodian.read.owed([t]);
      return held > owed ? held - owed : 0n;
    };
    const give = async (t: number, amount: bigint) => {
      const before = await tokens[t].read.balanceOf([custodian.address]);
      await tokens[t].write.transfer([custodian.address, amount], { account: donor.account });
      donated[t] += (await tokens[t].read.balanceOf([custodian.address])) - before;
    };

    // ---- exodus steps
    const refund = async () => {
      const processed = Number(await custodian.read.processedRequests());
      const open = [...deposits].filter(([i]) => i >= processed);
      const consumed = [...deposits].filter(([i]) => i < processed);
      const roll = r.next();
      if (roll < 0.6 && open.length) {
        const [index, d] = r.pick(open);
        const res = await send(`refundDeposit ${index}`, () => custodian.write.refundDeposit([BigInt(index), d.accountId, d.tokenId, d.amount], { account: donor.account }), d.refunded ? ["AlreadyRefunded"] : []);
        if (ok(res)) count("refund");
      } else if (roll < 0.8 && open.length) {
        const [index, d] = r.pick(open);
        await send("refundDeposit (another amount)", () => custodian.write.refundDeposit([BigInt(index), d.accountId, d.tokenId, d.amount + 1n], { account: donor.account }), ["RequestMismatch"]);
      } else if (consumed.length) {
        const [index, d] = r.pick(consumed);
        await send("refundDeposit (consumed)", () => custodian.write.refundDeposit([BigInt(index), d.accountId, d.tokenId, d.amount], { account: donor.account }), ["NotRefundable"]);
      }
    };

    const exit = async () => {
      const a = r.pick(actors);
      const honest = r.chance(counts.has("exitInflated") && counts.has("derivClaimInWindow") ? 0.5 : 0.2);
      const amounts = Array.from({ length: EXIT_TOKENS }, (_, t) => (t < TOKENS && a.accountId ? state.balance(a.accountId, t) : 0n));
      let derivativesClaim = 0n;
      let pooledQuote = state.globals.pooledQuote;
      if (!honest) {
        // beyond the balance, and at times beyond all the custodian holds free of the token
        for (let t = 0; t < TOKENS; t++) if (r.chance(0.6)) amounts[t] = amounts[t]! + r.big(1n, 1_000_000n) + (r.chance(0.5) ? await free(t) : 0n);
        if (r.chance(counts.has("derivClaimInWindow") ? 0.6 : 0.95)) {
          derivativesClaim = r.big(1n, 2_000_000n);
          // One pooled quote for every exit with a claim: the proof binds it to the frozen root, so even a forged
          // claim cannot vary it between exits. (Varying it is outside what any exit verifier accepts; with the mock
          // it makes a late exit's due `pooledQuote - reserved - latePaid` underflow: Panic 0x11, not a custom error.)
          pooledQuote = forgedPot;
        }
      }
      const stranger = a.accountId !== 0 && r.chance(0.1);
      const sender = stranger ? r.pick(actors.filter((x) => x !== a)) : a;
      const expected = a.accountId === 0 || stranger ? ["NotAccountOwner"] : exitClaims.has(a.accountId) ? ["AlreadyExited"] : [];
      const res = await send(`exit of account ${a.accountId} (${honest ? "honest" : "inflated"})`, () => custodian.write.exit([a.accountId, amounts, pooledQuote, derivativesClaim, PROOF], { account: sender.wallet.account }), expected);
      if (!ok(res)) return;
      exitClaims.set(a.accountId, { amounts, derivativesClaim });
      count(honest ? "exitHonest" : "exitInflated");
      if (derivativesClaim) count((await now()) < Number((await custodian.read.exodusClaim([a.accountId]))[0]) ? "derivClaimInWindow" : "derivClaimLate");
    };

    const claimRemainder = async (key?: string) => {
      const keys = [...remainders.keys()];
      const [id, t] = (key ?? (keys.length && r.chance(0.85) ? r.pick(keys) : `${r.pick(actors).accountId}:${r.int(0, TOKENS - 1)}`)).split(":").map(Number) as [number, number];
      const due = remainders.get(`${id}:${t}`) ?? 0n;
      const expected = due === 0n ? ["NoExitRemainder"] : (await free(t)) < due ? ["ClaimNotCovered"] : [];
      const res = await send(`claimExitRemainder ${id}:${t}`, () => custodian.write.claimExitRemainder([id, t], { account: donor.account }), expected);
      if (ok(res)) count("remainderPaid");
      return due - (await free(t));
    };

    /** Claims a pending derivatives claim (of `accountId`, or of a random account); returns how much token 0 it lacked. */
    const claimDerivatives = async (accountId?: number) => {
      const candidates = [...exitClaims].filter(([, c]) => c.derivativesClaim > 0n).map(([id]) => id);
      const id = accountId ?? (candidates.length && r.chance(0.85) ? r.pick(candidates) : r.pick(actors).accountId);
      const [windowEnd, windowClaims, pot, pendingClaim] = await custodian.read.exodusClaim([id]);
      const due = pot === 0n && windowClaims === 0n ? 0n : (pendingClaim * pot) / (windowClaims > pot ? windowClaims : pot);
      const lacking = due - (await free(0));
      // the transaction's block is one second after the latest
      const expected = BigInt((await now()) + 1) < windowEnd ? ["ClaimWindowOpen"] : pendingClaim === 0n ? ["NoPendingClaim"] : lacking > 0n ? ["ClaimNotCovered"] : [];
      const res = await send(`claimDerivatives ${id}`, () => custodian.write.claimDerivatives([id], { account: donor.account }), expected);
      if (ok(res)) count("derivClaimPaid");
      return lacking;
    };

    const refusedInExodus = async () => {
      const a = r.pick(registered().length ? registered() : actors);
      const roll = r.int(0, 3);
      if (roll === 0 && a.accountId) await send("deposit in exodus", () => custodian.write.deposit([0, MIN_DEPOSIT[0]], { account: a.wallet.account }), ["ExodusModeActive"]);
      else if (roll === 1 && a.accountId) await send("forceWithdraw in exodus", () => custodian.write.forceWithdraw([0, 1n], { account: a.wallet.account }), ["ExodusModeActive"]);
      else if (roll === 2) await send("requestFeeWithdrawal in exodus", () => custodian.write.requestFeeWithdrawal([1n], { account: operator.account }), ["ExodusModeActive"]);
      else {
        const header = { oldRoot: await custodian.read.stateRoot(), newRoot: 1n, batchNumber: BigInt(await custodian.read.batchCount()), timestamp: BigInt(await now()) };
        await send("submitBatch in exodus", () => custodian.write.submitBatch([hex(batchBytes(header, [], P)), PROOF], { account: operator.account }), ["ExodusModeActive"]);
      }
    };

    // ---- the run: trading until 60% of the steps, then exodus
    await custodian.write.registerMarket([MARKET.baseTokenId, MARKET.sizeUnit, MARKET.priceUnit]);
    await queued({ type: TxType.REGISTER_MARKET, ...MARKET });
    await checkInvariants(0, "setup");
    const exodusAt = Math.floor(STEPS * 0.6);
    /** A step: its name, its weight, what it runs, and the kinds it counts (its weight is 4 times as much while one of them has not happened yet). */
    type Step = [name: string, weight: number, run: () => Promise<unknown>, kinds: readonly string[] | (() => readonly string[])];
    const before: Step[] = [
      ["register", 3, register, ["register", "rotateKey"]],
      ["deposit", 6, deposit, () => ["deposit", "depositTo", ...(quirkyMode === "fee" ? ["depositFeeOnTransfer"] : [])]],
      ["forceWithdraw", 2, forceWithdraw, ["forceWithdraw", "forcedHonoured", "forcedRefused"]],
      ["feeWithdrawal", 1.5, feeWithdrawal, ["feeRequest", "feeHonoured", "feeRefused"]],
      ["insuranceWithdrawal", 0.7, insuranceWithdrawal, ["insuranceRequest", "insuranceRefused"]],
      ["batch", 8, batch, ["trade", "withdrawCredited", "forcedHonoured", "forcedRefused", "feeHonoured", "feeRefused", "insuranceRefused"]],
      ["withdraw", 3, withdraw, ["withdraw", "refused:NothingToWithdraw", "refused:FailedCall", "refused:ReentrancyGuardReentrantCall"]],
      ["donate", 1, donate, ["donate"]],
      ["quirky", 1, quirkyToggle, ["quirky:fee", "quirky:bonus", "quirky:refuse", "quirky:reenter"]],
      ["time", 1, () => timePasses(600), ["time"]],
      ["tooEarlyExodus", 0.5, tooEarlyExodus, ["refused:ExodusNotAvailable"]],
    ];
    const after: Step[] = [
      ["refund", 2, refund, ["refund", "refused:RequestMismatch", "refused:NotRefundable"]],
      ["exit", 4, exit, ["exitHonest", "exitInflated", "remainderRecorded", "derivClaimInWindow", "refused:AlreadyExited"]],
      ["claimRemainder", 2, claimRemainder, ["remainderPaid"]],
      ["claimDerivatives", 2, claimDerivatives, ["derivClaimPaid"]],
      ["withdraw", 3, withdraw, ["withdraw"]],
      ["donate", 3, donate, ["remainderPaid"]],
      ["quirky", 1, quirkyToggle, []],
      ["time", 1.5, () => timePasses(5 * 86400), []],
      ["refusedInExodus", 1, refusedInExodus, ["refused:ExodusModeActive"]],
    ];
    const weight = ([, w, , kinds]: Step) => ((typeof kinds === "function" ? kinds() : kinds).some((k) => !counts.has(k)) ? 4 * w : w);
    const choose = (steps: Step[]) => {
      const total = steps.reduce((s, step) => s + weight(step), 0);
      let x = r.next() * total;
      for (const s of steps) if ((x -= weight(s)) < 0) return s;
      return steps.at(-1)!;
    };
    for (let step = 1; step <= STEPS; step++) {
      let name: string;
      if (step === exodusAt) {
        name = "activateExodus";
        await activateExodus();
      } else {
        const [n, , run] = choose(step < exodusAt ? before : after);
        name = n;
        await run();
      }
      await checkInvariants(step, name);
    }
    // The end: the claim window closes, every pending claim and remainder is paid (the donor covering what the
    // inflated exits took), every open deposit refunded, every credit pulled: then the custodian owes nothing.
    let step = STEPS;
    if (exodus) {
      const [windowEnd] = await custodian.read.exodusClaim([0]);
      const t = await now();
      if (BigInt(t) < windowEnd) await networkHelpers.time.increase(Number(windowEnd) - t);
      if (quirkyMode !== "plain") {
        quirkyMode = "plain";
        await quirky.write.setFeeBps([0n]);
        await quirky.write.setBonus([0n]);
        await quirky.write.setHook([zeroAddress, "0x"]);
      }
      for (const id of exitClaims.keys()) {
        if ((await custodian.read.exodusClaim([id]))[3] === 0n) continue;
        const lacking = await claimDerivatives(id);
        await checkInvariants(++step, "claimDerivatives at the end");
        if (lacking > 0n) {
          await give(0, lacking);
          assert.equal(await claimDerivatives(id), 0n);
          await checkInvariants(++step, "claimDerivatives at the end, covered");
        }
      }
      for (const key of [...remainders.keys()]) {
        const lacking = await claimRemainder(key);
        await checkInvariants(++step, "claimExitRemainder at the end");
        if (lacking > 0n) {
          await give(Number(key.split(":")[1]), lacking);
          await claimRemainder(key);
          await checkInvariants(++step, "claimExitRemainder at the end, covered");
        }
      }
      assert.equal(remainders.size, 0, "every remainder paid");
      const processed = Number(await custodian.read.processedRequests());
      for (const [index, d] of deposits) {
        if (index < processed || d.refunded) continue;
        assert.ok(ok(await send(`refundDeposit ${index}`, () => custodian.write.refundDeposit([BigInt(index), d.accountId, d.tokenId, d.amount], { account: donor.account }), [])));
        count("refund");
        await checkInvariants(++step, "refundDeposit at the end");
      }
      for (const w of [admin, operator, donor, ...actors.map((a) => a.wallet)]) {
        for (let t = 0; t < TOKENS; t++) {
          if ((await custodian.read.withdrawable([w.account.address, t])) === 0n) continue;
          assert.ok(ok(await send("withdraw at the end", () => custodian.write.withdraw([t], { account: w.account }), [])));
          count("withdraw");
          await checkInvariants(++step, "withdraw at the end");
        }
      }
      for (let t = 0; t < TOKENS; t++) assert.equal(await custodian.read.owed([t]), 0n, `token ${t}: everything owed has left`);
    }

    const summary = [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`).join(" ");
    console.log(`ledger invariant: seed ${SEED}, ${STEPS} steps: ${summary}`);
    {
      const kinds = [
        "register", "rotateKey", "deposit", "depositTo", "depositFeeOnTransfer", "depositConsumed", "batch", "trade", "withdrawCredited",
        "forceWithdraw", "forcedHonoured", "forcedRefused", "feeRequest", "feeHonoured", "feeRefused", "insuranceRequest", "insuranceRefused",
        "withdraw", "donate", "time", "quirky:fee", "quirky:bonus", "quirky:refuse", "quirky:reenter", "activateExodus", "refund", "exitHonest", "exitInflated",
        "remainderRecorded", "remainderPaid", "derivClaimInWindow", "derivClaimPaid",
        "refused:NothingToWithdraw", "refused:ExodusNotAvailable", "refused:ExodusModeActive", "refused:AlreadyExited",
        "refused:RequestMismatch", "refused:NotRefundable",
      ];
      const missing = kinds.filter((k) => !counts.has(k));
      // the misbehaving token refused one of the custodian's transfers (hook reverting, or reentering)
      if (!counts.has("refused:FailedCall") && !counts.has("refused:ReentrancyGuardReentrantCall")) missing.push("a QuirkyToken refusal");
      // the default run exercises every kind; another seed's run reports what it missed
      if (DEFAULT_RUN) assert.deepEqual(missing, [], `the run never exercised ${missing.join(", ")}`);
      else if (missing.length) console.log(`ledger invariant: this run never exercised ${missing.join(", ")}`);
    }
  });
});
