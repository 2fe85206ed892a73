/**
 * Keys on Baby Jubjub (issue 11, finding 1; SPEC.md "Keys"). The public data carries a key compressed
 * as `y | signX << 255`, so the x of a registered key and of the oracle key is the operator's choice
 * unless the circuit proves the point is on the curve. Each attack is built the way an operator would
 * build it (the TypeScript checks off, public data hashed consistently).
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildBatch } from "../../sequencer/batch/batchWitness.ts";
import type { BatchTx } from "../../sequencer/batch/transactions.ts";
import { compressPublicKey, publicKeyOf, verifyMessage, type PublicKey } from "../../sequencer/crypto/babyjub.ts";
import { oracleMessage, orderMessage } from "../../sequencer/protocol/messages.ts";
import { Side, TxType } from "../../sequencer/protocol/constants.ts";
import { TEST_PARAMS } from "../../sequencer/protocol/params.ts";
import { ExchangeState } from "../../sequencer/state/exchangeState.ts";
import { loadBatchCircuit, witnessFailure } from "../helpers/circuitRules.ts";
import { NOW, ORACLE_KEY, oracleUpdate } from "../helpers/derivatives.ts";
import { order, testTrader } from "../helpers/traders.ts";
import { FORGED_SIGNATURE, forgeableX, offCurveX, onCurve } from "./offCurveKeys.ts";

const alice = testTrader(1);
const bob = testTrader(2);
const DISHONEST = { enforceRules: false, verifySignatures: false };

/** alice (10,000,000 quote) and bob (1,000,000 of base token 1) registered and funded, market 0 registered. */
function fundedState(): ExchangeState {
  const state = new ExchangeState(TEST_PARAMS);
  const setup: BatchTx[] = [
    { type: TxType.REGISTER_KEY, accountId: 1, pubKey: alice.pubKey },
    { type: TxType.REGISTER_KEY, accountId: 2, pubKey: bob.pubKey },
    { type: TxType.REGISTER_MARKET, marketId: 0, baseTokenId: 1, sizeUnit: 1000n, priceUnit: 10n },
    { type: TxType.DEPOSIT, accountId: 1, tokenId: 0, amount: 10_000_000n },
    { type: TxType.DEPOSIT, accountId: 2, tokenId: 1, amount: 1_000_000n },
  ];
  for (let i = 0; i < setup.length; i += TEST_PARAMS.slots) {
    buildBatch(state, setup.slice(i, i + TEST_PARAMS.slots), { batchNumber: i, timestamp: NOW, oracle: null });
  }
  return state;
}

/** A key alice rotates to whose y admits a forging x' (the first of a fixed sequence of private keys). */
function forgeableRotation(): { key: PublicKey; forgedX: bigint } {
  for (let seed = 1; ; seed++) {
    const key = publicKeyOf(new Uint8Array(32).fill(seed).map((b, i) => (i === 0 ? 200 : b)));
    const forgedX = forgeableX(key);
    if (forgedX !== null) return { key, forgedX };
  }
}

describe("batch circuit: keys on Baby Jubjub", { timeout: 600_000 }, () => {
  before(async () => {
    await loadBatchCircuit(TEST_PARAMS);
  });

  it("REGISTER_KEY with an off-curve x of the registered y and sign: same record, another root (the account frozen)", async () => {
    const key = testTrader(4).pubKey;
    const offX = offCurveX(key);
    assert.equal(onCurve([offX, key[1]]), false);
    const honest = buildBatch(fundedState(), [{ type: TxType.REGISTER_KEY, accountId: 4, pubKey: key }], { batchNumber: 9, timestamp: NOW, oracle: null });
    const state = fundedState();
    const tx: BatchTx = { type: TxType.REGISTER_KEY, accountId: 4, pubKey: [offX, key[1]] };
    const dishonest = buildBatch(fundedState(), [tx], { batchNumber: 9, timestamp: NOW, oracle: null, ...DISHONEST });
    assert.deepEqual(dishonest.records, honest.records, "the public-data record is the queued one");
    assert.notEqual(dishonest.header.newRoot, honest.header.newRoot, "the committed key is not the registered one");
    assert.equal(await witnessFailure(state, [tx], { oracle: null, ...DISHONEST }), null);
  });

  it("a forged order: alice's rotated key registered with a forging x', then a buy order 'signed' by nobody drains her quote to bob", async () => {
    const { key, forgedX } = forgeableRotation();
    const forged: PublicKey = [forgedX, key[1]];
    assert.equal(compressPublicKey(forged), compressPublicKey(key), "the REGISTER_KEY record is alice's queued one");
    const buy = { ...order(alice, { orderId: 1n, side: Side.BUY, priceTicks: 99_000n }), signature: FORGED_SIGNATURE };
    assert.equal(verifyMessage(orderMessage(buy), buy.signature, key), false, "alice never signed it");
    const txs: BatchTx[] = [
      { type: TxType.REGISTER_KEY, accountId: 1, pubKey: forged },
      { type: TxType.TRADE, buy, sell: order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 99_000n }), lots: 10n, priceTicks: 99_000n, buyFeePpm: 500, sellFeePpm: 0 },
    ];
    const state = fundedState();
    assert.equal(await witnessFailure(state, txs, { oracle: null, ...DISHONEST }), null);
    assert.equal(state.balance(1, 0), 10_000_000n - 9_900_000n - 4_950n);
  });

  it("a forged oracle update: the oracle key's y with a forging x', any prices", async () => {
    const oracleKey = publicKeyOf(ORACLE_KEY);
    const forgedX = forgeableX(oracleKey);
    assert.notEqual(forgedX, null, "the test oracle key's y admits a forging x'");
    const update = { ...oracleUpdate({ prices: [1n << 40n] }), key: [forgedX!, oracleKey[1]] as PublicKey, signature: FORGED_SIGNATURE };
    assert.equal(verifyMessage(oracleMessage(update), update.signature, oracleKey), false, "the oracle never signed it");
    const state = fundedState();
    const built = buildBatch(fundedState(), [], { batchNumber: 9, timestamp: NOW, oracle: update, ...DISHONEST });
    assert.equal(built.oracle.key, compressPublicKey(oracleKey), "the oracle section carries the registered key");
    assert.equal(await witnessFailure(state, [], { oracle: update, ...DISHONEST }), null);
  });
});
