/**
 * Random traffic for the sequencer's property tests (issue 11): seeded sequences of the requests a
 * trader, the chain and the oracle can send, each generated from the sequencer's intake state and then
 * applied as a plain value to one or more sequencers (a twin that never restarts, and one that does),
 * so a failure repeats from its seed.
 *
 * Requests: orders of every type and time in force (fee maxima at, below and above the market's fees,
 * near and far expiries, reused and slot-busy ids, orders signed with a rotated-out key), cancels,
 * withdrawals (zero, excessive, of an unknown token, with a wrong nonce), key rotations with orders
 * resting, deposits, and with `derivatives` transfers to and from collateral, perpetual orders and
 * oracle updates (funding epochs included); the clock moves by seconds, and with `clockJumps` by more
 * than the custodian's window now and then.
 */
import { publicKeyOf, type PublicKey } from "../../sequencer/crypto/babyjub.ts";
import { IMMEDIATE_ORDER_TTL, INSTRUMENT_MARKET_BASE, neverRests, OrderType, Side, TimeInForce, TxType } from "../../sequencer/protocol/constants.ts";
import type { Order, Signed, Withdrawal } from "../../sequencer/protocol/messages.ts";
import { signCancel, signOrder, signTransfer, signWithdrawal } from "../../sequencer/protocol/signing.ts";
import type { BatchTx } from "../../sequencer/protocol/transactions.ts";
import type { SignedOracleUpdate } from "../../sequencer/derivatives/oracleStep.ts";
import { RequestRejected, type Sequencer } from "../../sequencer/service/sequencer.ts";
import { INSTRUMENTS, oracleUpdate, PRICE, VOLS } from "./derivatives.ts";
import { prng } from "../../scripts/fixtures/matching/helpers.ts";

export type Rng = ReturnType<typeof prng>;
export { prng };

/** One request, as a value any sequencer in the same intake state can take. */
export type TrafficRequest =
  | { kind: "order"; order: Signed<Order> }
  | { kind: "cancel"; cancel: Parameters<Sequencer["cancelOrder"]>[0] }
  | { kind: "withdraw"; withdrawal: Parameters<Sequencer["requestWithdrawal"]>[0] }
  | { kind: "transfer"; transfer: Parameters<Sequencer["requestTransfer"]>[0] }
  | { kind: "request"; tx: BatchTx }
  | { kind: "oracle"; update: SignedOracleUpdate };

export const ACCOUNTS = [1, 2, 3] as const;
/** Spot markets: 0 (base token 1, from the fixture) and 1 (base token 2). */
const SPOT_MARKETS = [0, 1] as const;
const PERP_MARKET = INSTRUMENT_MARKET_BASE + 0;
/** Signed fee maxima at and around the sequencer's fees in these tests (offlineSequencerOptions: maker 100 ppm, taker 500 ppm). */
const FEE_EDGES = [0, 99, 100, 499, 500] as const;
const FAR = 2_000_000_000;

/** On-chain requests that set up the traffic's accounts and markets beyond the fixture (test/helpers/sequencer.ts). */
export function trafficSetup(derivatives: boolean): BatchTx[] {
  const carolKey = keyOf(3, 0);
  const out: BatchTx[] = [
    { type: TxType.REGISTER_MARKET, marketId: 1, baseTokenId: 2, sizeUnit: 10n, priceUnit: 1n },
    { type: TxType.REGISTER_KEY, accountId: 3, pubKey: carolKey.pubKey },
    { type: TxType.DEPOSIT, accountId: 1, tokenId: 2, amount: 100_000n },
    { type: TxType.DEPOSIT, accountId: 2, tokenId: 0, amount: 50_000_000_000n },
    { type: TxType.DEPOSIT, accountId: 3, tokenId: 0, amount: 50_000_000_000n },
    { type: TxType.DEPOSIT, accountId: 3, tokenId: 1, amount: 50_000n },
    { type: TxType.DEPOSIT, accountId: 1, tokenId: 0, amount: 50_000_000_000n },
    { type: TxType.DEPOSIT, accountId: 1, tokenId: 1, amount: 100_000n },
    { type: TxType.DEPOSIT, accountId: 3, tokenId: 2, amount: 100_000n },
    { type: TxType.DEPOSIT, accountId: 2, tokenId: 2, amount: 100_000n },
  ];
  if (derivatives) out.push({ type: TxType.REGISTER_INSTRUMENT, instrumentId: 0, ...INSTRUMENTS[0]! });
  return out;
}

/** The trading key number `n` of an account (n = 0: the fixture's, test/helpers/traders.ts). */
export function keyOf(accountId: number, n: number): { key: Uint8Array; pubKey: PublicKey } {
  const key = new Uint8Array(32).fill(accountId + 17);
  if (n > 0) key[0] = (key[0]! + n * 31) % 256;
  return { key, pubKey: publicKeyOf(key) };
}

export type TrafficOptions = { derivatives: boolean; clockJumps: boolean };

/** The generator: what the test knows of each account (keys, ids used), the clock and the oracle. */
export class Traffic {
  readonly rng: Rng;
  readonly clock: { now: number };
  readonly opts: TrafficOptions;
  /** Key number per account (its current trading key is keyOf(account, n)). */
  readonly keyNumber = new Map<number, number>(ACCOUNTS.map((a) => [a, 0]));
  readonly nextOrderId = new Map<number, bigint>(ACCOUNTS.map((a) => [a, 1n]));
  #lastOracle = 0;

  constructor(seed: number, clock: { now: number }, opts: TrafficOptions) {
    this.rng = prng(seed);
    this.clock = clock;
    this.opts = opts;
  }

  #key(accountId: number): Uint8Array {
    return keyOf(accountId, this.keyNumber.get(accountId)!).key;
  }

  /** The next random request, from `s`'s intake state (accounts, live orders, nonces, balances). */
  next(s: Sequencer): TrafficRequest {
    const r = this.rng;
    const acc = r.pick(ACCOUNTS);
    if (this.opts.derivatives && (this.#lastOracle === 0 || this.clock.now - this.#lastOracle >= 120 || r.chance(4))) return this.#oracle(s);
    const roll = r.int(100);
    if (roll < 55) return { kind: "order", order: this.#order(acc) };
    if (roll < 63) {
      const live = s.engine.openOrders(acc);
      const orderId = live.length > 0 && r.chance(85) ? r.pick(live).orderId : BigInt(r.int(8));
      return { kind: "cancel", cancel: signCancel(this.#key(acc), { accountId: acc, orderId }) };
    }
    if (roll < 73) return { kind: "withdraw", withdrawal: this.#withdrawal(s, acc) };
    if (roll < 75) {
      const n = this.keyNumber.get(acc)! + 1;
      this.keyNumber.set(acc, n);
      return { kind: "request", tx: { type: TxType.REGISTER_KEY, accountId: acc, pubKey: keyOf(acc, n).pubKey } };
    }
    if (roll < 84) {
      return { kind: "request", tx: { type: TxType.DEPOSIT, accountId: acc, tokenId: r.pick([0, 1, 2]), amount: BigInt(1 + r.int(5_000_000)) } };
    }
    if (this.opts.derivatives && roll < 96) {
      const toCollateral = r.chance(65);
      const amount = r.pick([0n, 1n, BigInt(1 + r.int(20_000_000_000)), 1n << 95n]);
      const nonce = s.withdrawalNonce(acc) + (r.chance(5) ? 1 : 0);
      return { kind: "transfer", transfer: signTransfer(this.#key(acc), { accountId: acc, toCollateral, amount, nonce }) };
    }
    return { kind: "order", order: this.#order(acc) };
  }

  #order(acc: number): Signed<Order> {
    const r = this.rng;
    const perp = this.opts.derivatives && r.chance(30);
    const marketId = perp ? PERP_MARKET : r.pick(SPOT_MARKETS);
    let orderId = this.nextOrderId.get(acc)!;
    if (r.chance(5)) orderId = orderId > 1n ? orderId - 1n : orderId; // reused
    else if (r.chance(3)) orderId += 16n; // may land in a busy storage slot (16 slots at TEST_PARAMS)
    else this.nextOrderId.set(acc, orderId + 1n);
    const type = r.chance(10) ? OrderType.MARKET : OrderType.LIMIT;
    const timeInForce = r.pick([TimeInForce.GTC, TimeInForce.GTC, TimeInForce.GTC, TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK, TimeInForce.POST_ONLY]);
    const side = r.int(100) < 50 ? Side.BUY : Side.SELL;
    const lean = side === Side.BUY ? 5 : -5; // buyers bid up, sellers ask down: the book crosses often
    const priceTicks = perp ? BigInt(299_000 + 100 * lean + r.int(2_000)) : BigInt(90 + lean + r.int(21));
    const sizeLots = perp ? BigInt(1 + r.int(40)) : BigInt(1 + r.int(20));
    // an order that never rests expires within IMMEDIATE_ORDER_TTL of its arrival (intake refuses a later expiry)
    const expiry = r.chance(25) ? this.clock.now + r.int(40) : neverRests({ type, timeInForce }) ? this.clock.now + IMMEDIATE_ORDER_TTL : FAR;
    const n = this.keyNumber.get(acc)!;
    const signer = n > 0 && r.chance(4) ? keyOf(acc, n - 1).key : this.#key(acc); // a rotated-out key
    return signOrder(signer, {
      accountId: acc, orderId, marketId, side, type, timeInForce, priceTicks, sizeLots,
      maxFeePpm: r.chance(15) ? r.pick(FEE_EDGES) : r.pick([1000, 65_535]), expiry,
    });
  }

  #withdrawal(s: Sequencer, acc: number): Signed<Withdrawal> {
    const r = this.rng;
    const tokenId = r.pick([0, 0, 1, 2, 4]); // 4: no such token at TEST_PARAMS
    const available = tokenId < 4 ? s.risk.available(acc, tokenId) : 0n;
    const amount = r.pick([0n, 1n, available, available + 1n, available / 2n, BigInt(r.int(100_000))]);
    const nonce = s.withdrawalNonce(acc) + (r.chance(5) ? 1 : 0);
    return signWithdrawal(this.#key(acc), { accountId: acc, tokenId, amount, nonce });
  }

  #oracle(s: Sequencer): TrafficRequest {
    const r = this.rng;
    const time = this.clock.now;
    this.#lastOracle = time;
    const price = PRICE + BigInt(r.int(2_000_000_000)) - 1_000_000_000n;
    const fundingEpoch = s.derivatives.fundingEpoch + (r.chance(30) ? 1 : 0); // a funding tick now and then
    return { kind: "oracle", update: oracleUpdate({ time, fundingEpoch, prices: [price], volSlices: VOLS, rates: [BigInt(r.int(3)) - 1n, 0n, 0n, 0n] }) };
  }

  /** Moves the clock: seconds mostly; with clockJumps, sometimes by more than the custodian's window. */
  tick(): void {
    const r = this.rng;
    this.clock.now += this.opts.clockJumps && r.chance(6) ? r.pick([700, 3_600, 86_400]) : r.int(8);
  }
}

/**
 * Applies a request to `s`: "ok", or the refusal's code (a refused request changes nothing). Oracle
 * updates are checked against the oracle key the test set (setOracleKey).
 */
export async function applyRequest(s: Sequencer, req: TrafficRequest): Promise<string> {
  try {
    switch (req.kind) {
      case "order": {
        const events = s.placeOrder(req.order);
        const refused = events.find((e) => e.type === "rejected");
        return refused && refused.type === "rejected" ? refused.code : "ok";
      }
      case "cancel": {
        const events = s.cancelOrder(req.cancel);
        const refused = events.find((e) => e.type === "rejected");
        return refused && refused.type === "rejected" ? refused.code : "ok";
      }
      case "withdraw":
        s.requestWithdrawal(req.withdrawal);
        return "ok";
      case "transfer":
        s.requestTransfer(req.transfer);
        return "ok";
      case "request":
        s.acceptRequest(req.tx);
        return "ok";
      case "oracle":
        await s.acceptOracleUpdate(req.update);
        return "ok";
    }
  } catch (e) {
    if (e instanceof RequestRejected) return e.code;
    throw e;
  }
}
