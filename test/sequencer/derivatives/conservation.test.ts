/**
 * Property: value is conserved. Over random sequences of derivatives trades (perpetual, future, call,
 * put), funding ticks, collateral transfers, a liquidation and expiry settlement, the sum over all
 * accounts of (collateral - pending funding + payoff of settled positions) plus the insurance fund, the
 * fee pool and the spot quote balances never changes, and every instrument's positions sum to zero.
 * The state's pooled quote (DERIVATIVES.md "Pooled quote"), which the batch keeps by what crosses the spot
 * balances' border, is at every step that sum less the spot quote balances, and never negative.
 * Refused transactions change nothing.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildBatch } from "../../../sequencer/batch/batchWitness.ts";
import { TxRejected } from "../../../sequencer/batch/slotWitness.ts";
import type { BatchTx } from "../../../sequencer/protocol/transactions.ts";
import { settledMark } from "../../../sequencer/derivatives/formulas.ts";
import { Side, TxType } from "../../../sequencer/protocol/constants.ts";
import { signTransfer } from "../../../sequencer/protocol/signing.ts";
import type { ExchangeState } from "../../../sequencer/state/exchangeState.ts";
import { derivativesState, derivOrder, EXPIRY, NOW, oracleUpdate, traders } from "../../helpers/derivatives.ts";

const accounts = Object.values(traders);

/** The conserved quantity (see the file comment). */
function totalValue(state: ExchangeState): bigint {
  return pooledValue(state) + accounts.reduce((v, t) => v + state.balance(t.accountId, 0), 0n);
}

/** What the state holds outside the spot balances, counted account by account: what its pooled quote must be. */
function pooledValue(state: ExchangeState): bigint {
  let v = state.globals.insuranceFund + state.feePool;
  for (const t of accounts) {
    const d = state.account(t.accountId).deriv;
    v += d.collateral;
    d.positions.forEach((p, i) => {
      const inst = state.instruments[i];
      v -= p.size * (inst.fundingIndex - p.snapshot);
      if (inst.settlePrice !== 0n) v += p.size * settledMark(inst);
    });
  }
  return v;
}

/** Every live instrument's positions sum to zero (a settled one's are paid out one account at a time). */
function openInterestIsBalanced(state: ExchangeState): boolean {
  return state.instruments.every((inst, i) =>
    inst.settlePrice !== 0n || accounts.reduce((s, t) => s + state.account(t.accountId).deriv.positions[i].size, 0n) === 0n);
}

/** A small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("derivatives: conservation of value", { timeout: 300_000 }, () => {
  for (const seed of [1, 2]) {
    it(`holds over a random run (seed ${seed}), through funding, a liquidation and expiry`, () => {
      const random = rng(seed);
      const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)];
      const state = derivativesState();
      const v0 = totalValue(state);
      let batch = 100;
      let epoch = 0;
      let orderId = 10n;
      let time = NOW;
      const nonces = new Map(accounts.map((t) => [t.accountId, state.account(t.accountId).nonce]));
      let refused = 0;
      const run = (txs: BatchTx[], oracle = oracleUpdate({ time, fundingEpoch: epoch })) => {
        const before = state.root;
        try {
          buildBatch(state, txs, { batchNumber: batch++, timestamp: time, oracle, verifySignatures: false });
        } catch (e) {
          assert.ok(e instanceof TxRejected, String(e));
          assert.equal(state.root, before, "a refused batch changed the state");
          refused++;
        }
        assert.equal(totalValue(state), v0);
        assert.equal(state.globals.pooledQuote, pooledValue(state), "the pooled quote is the collateral side plus the fee pool");
        assert.ok(state.globals.pooledQuote >= 0n);
        assert.ok(openInterestIsBalanced(state), "open interest is not balanced");
      };
      for (let step = 0; step < 30; step++) {
        const r = random();
        time += 1;
        if (r < 0.6) {
          const [buyer, seller] = pick([[traders.alice, traders.bob], [traders.bob, traders.carol], [traders.carol, traders.alice]] as const);
          const instrument = pick([0, 1, 2, 3]);
          const priceTicks = instrument >= 2 ? BigInt(1_000 + Math.floor(random() * 20_000)) : BigInt(290_000 + Math.floor(random() * 20_000));
          const lots = BigInt(1 + Math.floor(random() * 2_000));
          orderId++;
          const buy = derivOrder(buyer, instrument, { orderId, side: Side.BUY, priceTicks, sizeLots: lots });
          const sell = derivOrder(seller, instrument, { orderId, side: Side.SELL, priceTicks, sizeLots: lots });
          run([{ type: TxType.DERIV_TRADE, buy, sell, lots, priceTicks, buyFeePpm: 700, sellFeePpm: 300 }]);
        } else if (r < 0.8) {
          epoch++;
          const rate = BigInt(Math.floor(random() * 2_001) - 1_000);
          run([], oracleUpdate({ time, fundingEpoch: epoch, rates: [rate, 0n, 0n, 0n], prices: [BigInt(280_000 + Math.floor(random() * 40_000)) * 1_000_000n] }));
        } else {
          const t = pick(accounts);
          const nonce = nonces.get(t.accountId)!;
          const toCollateral = random() < 0.3;
          const tx: BatchTx = { type: TxType.TRANSFER, request: signTransfer(t.key, { accountId: t.accountId, toCollateral, amount: BigInt(1 + Math.floor(random() * 5_000_000_000)), nonce }) };
          const n = state.account(t.accountId).nonce;
          run([tx]);
          if (state.account(t.accountId).nonce !== n) nonces.set(t.accountId, nonce + 1);
        }
      }
      // A crash to 2000 leaves somebody with a long perpetual below maintenance margin: liquidate 1 lot.
      const crash = oracleUpdate({ time, fundingEpoch: epoch, prices: [200_000_000_000n] });
      const victim = accounts.find((t) => state.account(t.accountId).deriv.positions[0].size > 0n);
      if (victim) {
        const liquidator = accounts.find((t) => t !== victim)!;
        orderId++;
        const order = derivOrder(liquidator, 0, { orderId, side: Side.BUY, priceTicks: 200_000n, sizeLots: 1n });
        run([{ type: TxType.LIQUIDATE, liquidatedAccountId: victim.accountId, liquidator: order, lots: 1n, priceTicks: 200_000n, liquidatorFeePpm: 0 }], crash);
      }
      // Expiry: the dated instruments settle; every account's positions in them are paid out.
      time = EXPIRY + 10;
      const expiry = oracleUpdate({ time: EXPIRY + 5, fundingEpoch: epoch, prices: [315_000_000_000n] });
      for (const t of accounts) for (const instrumentId of [1, 2, 3]) run([{ type: TxType.SETTLE, accountId: t.accountId, instrumentId }], expiry);
      for (const t of accounts) for (const i of [1, 2, 3]) assert.equal(state.account(t.accountId).deriv.positions[i].size, 0n);
      assert.ok(refused < 30, "most transactions were accepted");
    });
  }
});
