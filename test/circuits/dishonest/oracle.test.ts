/**
 * Dishonest-operator generator, the batch-level oracle step and the header (issue 11, "Hunting the
 * rest"): an honest batch with a funding tick and a derivatives trade is built, then every oracle field
 * (old instrument table, insurance, oracle time and epoch, key, signature, prices, vols, rates) and every
 * header field the operator chooses is changed to wrong values, and other signed oracle updates and
 * batch timestamps are tried; test/helpers/dishonest.ts says how each candidate is judged. Two probes
 * follow the operator's clock and the instrument registration rules to their ends:
 * - expiry settlement: the operator holds signed updates from just after an expiry, from the settlement
 *   window's last second and from after it, and picks the one that settles the instrument (issue 11,
 *   finding 4, huntStates.settlementWindow with the protocol's SETTLEMENT_WINDOW);
 * - funding at the registration bounds: a perpetual registered with the largest lot and funding cap
 *   the rules allow, ticked at the largest price and rate the oracle may sign: every honest tick must be
 *   provable (finding 5).
 * Sampling: HUNT_PER_FIELD (default 1), HUNT_SEED (default 1), HUNT=full for all of them.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import { buildBatch } from "../../../sequencer/batch/batchWitness.ts";
import { TxRejected } from "../../../sequencer/batch/slotWitness.ts";
import type { BatchTx } from "../../../sequencer/protocol/transactions.ts";
import { publicKeyOf } from "../../../sequencer/crypto/babyjub.ts";
import { signOracleUpdate } from "../../../sequencer/derivatives/oracleSigner.ts";
import { InstrumentKind, MAX_ORACLE_AGE, PPM, SETTLEMENT_WINDOW, Side, TxType } from "../../../sequencer/protocol/constants.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { ExchangeState } from "../../../sequencer/state/exchangeState.ts";
import { aliceLongPerpetual, derivOrder, EXPIRY, NOW, ORACLE_KEY, oracleUpdate, traders, VOLS } from "../../helpers/derivatives.ts";
import { assertNoHoles, hunt, huntSuite, type Scenario } from "../../helpers/dishonest.ts";
import { aliceLongFuture, AT_EXPIRY, settlementWindow } from "../../helpers/huntStates.ts";
import { openWitness } from "../../helpers/openBatch.ts";

const { alice, bob, carol } = traders;
const oracleKey = publicKeyOf(ORACLE_KEY);
const TICKED = { time: NOW + 60, fundingEpoch: 1, prices: [301_000_000_000n], rates: [500n, 0n, 0n, 0n] };
/** A funding tick (epoch 1, the perpetual's rate 500 ppm) at 3,010 and carol buying 10 perpetual lots from bob's second order. */
const OPTS = { batchNumber: 40, timestamp: NOW + 120, oracle: oracleUpdate(TICKED) };
const trade: BatchTx = {
  type: TxType.DERIV_TRADE,
  buy: derivOrder(carol, 0, { orderId: 1n, side: Side.BUY, priceTicks: 301_000n, sizeLots: 10n }),
  sell: derivOrder(bob, 0, { orderId: 2n, side: Side.SELL, priceTicks: 301_000n, sizeLots: 10n }),
  lots: 10n, priceTicks: 301_000n, buyFeePpm: 500, sellFeePpm: 100,
};

function scenarios(): Scenario[] {
  const base = { state: aliceLongPerpetual(), txs: [trade], opts: OPTS, oracleKey };
  return [
    {
      name: "oracle step", section: "oracle", ...base,
      choices: [
        { label: "an update older than the last one", txs: [trade], opts: { oracle: oracleUpdate({ ...TICKED, time: NOW - 10 }) } },
        { label: "a stale update", txs: [trade], opts: { timestamp: NOW + 60 + MAX_ORACLE_AGE + 1 } },
        { label: "an update from after the batch", txs: [trade], opts: { oracle: oracleUpdate({ ...TICKED, time: NOW + 121 }) } },
        { label: "two funding epochs at once", txs: [trade], opts: { oracle: oracleUpdate({ ...TICKED, fundingEpoch: 2 }) } },
        { label: "a rate above the perpetual's cap", txs: [trade], opts: { oracle: oracleUpdate({ ...TICKED, rates: [1_001n, 0n, 0n, 0n] }) } },
        { label: "a funding rate on the future", txs: [trade], opts: { oracle: oracleUpdate({ ...TICKED, rates: [500n, 5n, 0n, 0n] }) } },
        { label: "an update signed by alice's key", txs: [trade], opts: { oracle: signOracleUpdate(alice.key, { ...TICKED, volSlices: VOLS }) } },
        { label: "no oracle update for a derivatives trade", txs: [trade], opts: { oracle: null } },
      ],
    },
    {
      // a day after the future's settlement window, the update names its expiry (3,100): every oracle input mutated,
      // the settlement word's parts included
      name: "oracle step naming an expiry", section: "oracle", state: aliceLongFuture(), oracleKey,
      txs: [{ type: TxType.SETTLE, accountId: alice.accountId, instrumentId: 1 }],
      opts: { batchNumber: 40, timestamp: EXPIRY + 86_410, oracle: oracleUpdate({ time: EXPIRY + 86_400, prices: [360_000_000_000n], settlement: { expiry: EXPIRY, prices: [310_000_000_000n] } }) },
      rules: [settlementWindow(SETTLEMENT_WINDOW)],
      choices: [
        { label: "the update names another expiry (signed): the future stays unsettled, its SETTLE refused", txs: [{ type: TxType.SETTLE, accountId: alice.accountId, instrumentId: 1 }],
          opts: { timestamp: EXPIRY + 86_410, oracle: oracleUpdate({ time: EXPIRY + 86_400, prices: [360_000_000_000n], settlement: { expiry: EXPIRY + 1, prices: [310_000_000_000n] } }) } },
      ],
    },
    {
      name: "header", section: "header", ...base,
      choices: [
        { label: "a timestamp after the orders' expiry", txs: [trade], opts: { timestamp: 2_000_000_001, oracle: oracleUpdate({ ...TICKED, time: 2_000_000_000 }) } },
        { label: "a timestamp before the oracle update", txs: [trade], opts: { timestamp: NOW + 59 } },
      ],
    },
  ];
}

huntSuite("dishonest operator: oracle step and header", scenarios, (wasm) => {
  it("expiry settlement: the operator cannot pick a signed update from after the settlement window, only the expiry the oracle names (finding 4)", async () => {
    const signedAt = (after: number, price: bigint) => ({ timestamp: EXPIRY + after + 10, oracle: oracleUpdate({ time: EXPIRY + after, prices: [price] }) });
    const settle: BatchTx = { type: TxType.SETTLE, accountId: alice.accountId, instrumentId: 1 };
    assertNoHoles(await hunt(wasm(), {
      name: "expiry settlement", section: "oracle", state: aliceLongFuture(), txs: [settle],
      opts: AT_EXPIRY, oracleKey, mutate: false, rules: [settlementWindow(SETTLEMENT_WINDOW)],
      choices: [
        { label: "the future settled at an update signed in the window's last second (3,600 instead of 3,150)", txs: [settle], opts: signedAt(SETTLEMENT_WINDOW, 360_000_000_000n) },
        { label: "the future settled at an update signed a second after the window (3,600)", txs: [settle], opts: signedAt(SETTLEMENT_WINDOW + 1, 360_000_000_000n) },
        { label: "an update a day after the window, no settlement in the batch (the future stays unsettled)", txs: [], opts: signedAt(SETTLEMENT_WINDOW + 86_400, 360_000_000_000n) },
        {
          label: "the future settled a day after the window at the expiry the update names (3,100 signed for it; the update's own 3,600)", txs: [settle],
          opts: { timestamp: EXPIRY + 86_410, oracle: oracleUpdate({ time: EXPIRY + 86_400, prices: [360_000_000_000n], settlement: { expiry: EXPIRY, prices: [310_000_000_000n] } }) },
        },
      ],
    }));
  });

  it("funding at the registration bounds: every tick the rules allow is provable (finding 5)", async () => {
    // The largest lot, price, margin and funding cap that registration and the oracle rules allow.
    const state = new ExchangeState(TEST_PARAMS);
    const spec = { kind: InstrumentKind.PERPETUAL, underlying: 0, lotSizeE6: (1n << 40n) - 1n, tickValue: 1n, imPpm: PPM, mmPpm: PPM, strike: 0n, expiry: 0, fundingCapPpm: PPM };
    try {
      buildBatch(state, [{ type: TxType.REGISTER_INSTRUMENT, instrumentId: 0, ...spec }], { batchNumber: 1, timestamp: NOW, oracle: null });
    } catch (e) {
      assert.ok(e instanceof TxRejected, String(e));
      console.log(`  registration at the bounds refused by the model (${e.message}): nothing to prove`);
      return;
    }
    const maxPrice = (1n << 50n) - 1n;
    for (let epoch = 1; epoch <= 4; epoch++) {
      const update = signOracleUpdate(ORACLE_KEY, { time: NOW + epoch, fundingEpoch: epoch, prices: [maxPrice], volSlices: VOLS, rates: [PPM, 0n, 0n, 0n] });
      const opts = { batchNumber: 1 + epoch, timestamp: NOW + epoch, oracle: update };
      let built;
      try {
        built = buildBatch(state, [], opts);
      } catch (e) {
        console.log(`  tick ${epoch} refused by the model (${(e as Error).message}): nothing more to prove`);
        return;
      }
      const w = await openWitness(wasm(), TEST_PARAMS, built.circuitInput);
      assert.ok(w.ok && !w.broken.length, `liveness: the model accepts funding tick ${epoch} (price 2^50 - 1, rate 10^6 ppm, lot 2^40 - 1) and the circuit refuses it at ${w.ok ? w.broken.join(" < ") : w.chain.join(" < ")}`);
    }
  });
});
