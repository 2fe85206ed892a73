/**
 * The batch circuit refuses every broken rule. Each negative case builds the witness the way a
 * dishonest operator would (enforceRules: false: the TypeScript checks are skipped and the public
 * data is hashed consistently), so only the circuit stands between it and a valid proof.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as snarkjs from "snarkjs";
import { buildBatchCircuit } from "../../scripts/build/batchCircuit.ts";
import { buildBatch, type BatchOptions } from "../../sequencer/batch/batchWitness.ts";
import type { BatchTx } from "../../sequencer/protocol/transactions.ts";
import { Side, TxType } from "../../sequencer/protocol/constants.ts";
import { TEST_PARAMS } from "../../sequencer/protocol/params.ts";
import { ORDER_FIELD } from "../../sequencer/protocol/layouts.ts";
import { signCancel, signWithdrawal } from "../../sequencer/protocol/signing.ts";
import { ExchangeState } from "../../sequencer/state/exchangeState.ts";
import { inputFailure, rule } from "../helpers/circuitRules.ts";
import { order, testTrader } from "../helpers/traders.ts";

const alice = testTrader(1);
const bob = testTrader(2);
const mallory = testTrader(3);
const NOW = 1_700_000_000;
let wasm: string;

/** A state with keys for alice, bob and mallory, market 0 (base token 1) and funded accounts. */
function fundedState(): ExchangeState {
  const state = new ExchangeState(TEST_PARAMS);
  const setup: BatchTx[] = [
    { type: TxType.REGISTER_KEY, accountId: 1, pubKey: alice.pubKey },
    { type: TxType.REGISTER_KEY, accountId: 2, pubKey: bob.pubKey },
    { type: TxType.REGISTER_KEY, accountId: 3, pubKey: mallory.pubKey },
    { type: TxType.REGISTER_MARKET, marketId: 0, baseTokenId: 1, sizeUnit: 1000n, priceUnit: 10n },
    { type: TxType.DEPOSIT, accountId: 1, tokenId: 0, amount: 10_000_000n },
    { type: TxType.DEPOSIT, accountId: 2, tokenId: 1, amount: 1_000_000n },
  ];
  for (let i = 0; i < setup.length; i += TEST_PARAMS.slots) {
    buildBatch(state, setup.slice(i, i + TEST_PARAMS.slots), { batchNumber: i, timestamp: NOW });
  }
  return state;
}

/** Computes the witness; returns null when every constraint holds, else the failing template's name. */
async function witnessFailure(state: ExchangeState, txs: BatchTx[], opts: Partial<BatchOptions> = {}): Promise<string | null> {
  const batch = buildBatch(state, txs, { batchNumber: 9, timestamp: NOW, ...opts });
  try {
    await snarkjs.wtns.calculate(batch.circuitInput, wasm, { type: "mem" });
    return null;
  } catch (e) {
    const failed = /Error in template (\w+?)_\d+ line: (\d+)/.exec(String(e));
    return failed ? `${failed[1]}:${failed[2]}` : String(e);
  }
}

async function witnessOk(state: ExchangeState, txs: BatchTx[]): Promise<boolean> {
  return (await witnessFailure(state, txs)) === null;
}

/**
 * Builds the dishonest batch and asserts the circuit refuses it at the expected constraint: the
 * innermost failing template's name, or "Template:<line>" (see rule), so the refusal comes from the
 * rule under test and not from some other mismatch.
 */
async function refuses(build: (state: ExchangeState) => BatchTx[], expected: string): Promise<void> {
  const state = fundedState();
  const txs = build(state);
  const failure = await witnessFailure(state, txs, { enforceRules: false, verifySignatures: false });
  assert.notEqual(failure, null, "the circuit accepted a batch that breaks the rule");
  assert.equal(expected.includes(":") ? failure : failure?.split(":")[0], expected);
}

const buy = (fields: Partial<Parameters<typeof order>[1]> = {}) => order(alice, { orderId: 1n, side: Side.BUY, priceTicks: 100n, ...fields });
const sell = (fields: Partial<Parameters<typeof order>[1]> = {}) => order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n, ...fields });
const trade = (fields: Partial<Extract<BatchTx, { type: 4 }>> = {}): BatchTx => ({
  type: TxType.TRADE, buy: buy(), sell: sell(), lots: 4n, priceTicks: 95n, buyFeePpm: 500, sellFeePpm: 1000, ...fields,
});

describe("batch circuit", { timeout: 600_000 }, () => {
  before(async () => {
    wasm = (await buildBatchCircuit(TEST_PARAMS)).wasm;
  });

  it("accepts honest batches of every transaction type", async () => {
    const state = fundedState();
    assert.ok(await witnessOk(state, [trade(), { type: TxType.CANCEL, request: signCancel(alice.key, { accountId: 1, orderId: 1n }) }]));
    assert.ok(await witnessOk(state, [{ type: TxType.WITHDRAW, request: signWithdrawal(bob.key, { accountId: 2, tokenId: 0, amount: 100n, nonce: 0 }) }, { type: TxType.NOOP }]));
    assert.ok(await witnessOk(state, [{ type: TxType.REGISTER_KEY, accountId: 4, pubKey: testTrader(4).pubKey }, { type: TxType.REGISTER_MARKET, marketId: 1, baseTokenId: 2, sizeUnit: 1n, priceUnit: 1n }]));
    assert.ok(await witnessOk(state, [{ type: TxType.DEPOSIT, accountId: 4, tokenId: 2, amount: 5n }]));
  });

  it("refuses public inputs that do not match the public data: one bit of any chunk, a chunk moved, or every chunk shifted", async () => {
    const batch = buildBatch(fundedState(), [trade()], { batchNumber: 9, timestamp: NOW });
    const inputs = batch.publicInputs;
    const last = inputs.length - 1;
    const tampered: bigint[][] = [
      inputs.map((v, i) => (i === 0 ? v ^ 1n : v)), // the old root's low bits
      inputs.map((v, i) => (i === last ? v ^ 1n : v)), // the last record's padding
      inputs.map((v, i) => (i === 3 ? v + (1n << 248n) : v)), // a chunk above 31 bytes
      [...inputs.slice(1), inputs[0]!],
    ];
    for (const t of tampered) {
      await assert.rejects(snarkjs.wtns.calculate({ ...batch.circuitInput, publicInput: t.map(String) }, wasm, { type: "mem" }));
    }
  });

  /** Failing chain "Template:line" (innermost first) of an honest trade batch whose circuit input `tamper` edits (public data unchanged). */
  async function tamperedTradeFailure(tamper: (input: Record<string, unknown>) => void, tx = trade()): Promise<string[] | null> {
    const batch = buildBatch(fundedState(), [tx], { batchNumber: 9, timestamp: NOW });
    const input = structuredClone(batch.circuitInput);
    tamper(input);
    return inputFailure(input, wasm);
  }

  it("refuses a fee rounded down, or more than one unit above the exact fee", async () => {
    const fees = (input: Record<string, unknown>) => input.buyFee as string[];
    // Only the fee moves: balances stay in range, so the failing check is the rounding gadget's
    // (fee * 10^6 - quote * ppm must be a non-negative 20-bit number, and below 10^6), for the buyer's fee.
    const atRounding = (failure: string[] | null, check: string) => {
      for (const at of [rule("CeilPpmCheck", check), rule("Trade", "buyFeeRounding.q <== buyFee")]) {
        assert.ok(failure?.includes(at), `refused at ${failure?.join(" < ")}, not at ${at}`);
      }
    };
    atRounding(await tamperedTradeFailure((i) => (fees(i)[0] = (BigInt(fees(i)[0]) - 1n).toString())), "remBits.in <== rem");
    // quote 3920 at 500 ppm: exact fee 1.96 -> 2; a fee of 3 leaves a remainder of 1,040,000, which fits
    // 20 bits, so the "< 10^6" check is what refuses it.
    atRounding(await tamperedTradeFailure((i) => (fees(i)[0] = (BigInt(fees(i)[0]) + 1n).toString()), trade({ priceTicks: 98n })), "gapBits.in <==");
  });

  it("refuses an order whose signed account is not the account it is applied to", async () => {
    // alice signs an order naming account 3; the witness applies it to alice's account 1.
    const forOther = order(alice, { orderId: 1n, side: Side.BUY, priceTicks: 100n, accountId: 3 });
    const failure = await tamperedTradeFailure((i) => {
      (i.orderA as string[][])[0][ORDER_FIELD.accountId] = "3";
      (i.sigA as string[][])[0] = [forOther.signature.r8x, forOther.signature.r8y, forOther.signature.s].map(String);
    });
    assert.equal(failure?.[0], rule("Trade", "isTrade * (orderA[O_ACCOUNT()] - accountA) === 0"));
  });

  it("refuses an order not signed by its account's key", async () => {
    await refuses(() => [trade({ buy: { ...buy(), signature: order(mallory, { orderId: 1n, side: Side.BUY }).signature } })], "ForceEqualIfEnabled");
  });
  it("refuses a signature by the right key over a different order", async () => {
    await refuses(() => [trade({ buy: { ...buy(), priceTicks: 200n } })], "ForceEqualIfEnabled");
  });
  it("refuses two orders on the same side", async () => {
    await refuses(() => [trade({ buy: order(alice, { orderId: 1n, side: Side.SELL, priceTicks: 100n }) })], rule("Trade", "isTrade * orderA[O_SIDE()] === 0"));
    await refuses(() => [trade({ sell: order(bob, { orderId: 1n, side: Side.BUY, priceTicks: 90n }) })], rule("Trade", "isTrade * (1 - orderB[O_SIDE()]) === 0"));
  });
  it("refuses orders of different markets", async () => {
    await refuses(() => [trade({ sell: sell({ marketId: 1 }) })], rule("Trade", "isTrade * (orderB[O_MARKET()] - marketId) === 0"));
  });
  it("refuses a price above the buyer's limit or below the seller's", async () => {
    await refuses(() => [trade({ priceTicks: 101n })], "RequireLessEq");
    await refuses(() => [trade({ priceTicks: 89n })], "RequireLessEq");
  });
  it("refuses a zero quantity", async () => {
    await refuses(() => [trade({ lots: 0n })], rule("Trade", "isTrade * lotsIsZero.out === 0"));
  });
  it("refuses a fill beyond the order's size, in one trade or across batches", async () => {
    await refuses(() => [trade({ lots: 11n })], "OrderStorage");
    await refuses((state) => {
      buildBatch(state, [trade({ lots: 8n })], { batchNumber: 8, timestamp: NOW });
      return [trade({ lots: 3n })];
    }, "OrderStorage");
  });
  it("refuses to fill a cancelled order", async () => {
    await refuses((state) => {
      buildBatch(state, [{ type: TxType.CANCEL, request: signCancel(bob.key, { accountId: 2, orderId: 1n }) }], { batchNumber: 8, timestamp: NOW });
      return [trade()];
    }, "OrderStorage");
  });
  it("refuses to fill an order whose storage slot a newer order took", async () => {
    const slots = BigInt(4 ** TEST_PARAMS.orderLevels);
    await refuses((state) => {
      buildBatch(state, [trade({ sell: sell({ orderId: 1n + slots }), lots: 1n })], { batchNumber: 8, timestamp: NOW });
      return [trade()];
    }, "OrderStorage");
  });
  it("refuses an expired order", async () => {
    await refuses(() => [trade({ sell: sell({ expiry: NOW - 1 }) })], "RequireLessEq");
  });
  it("refuses a fee above the order's signed maximum", async () => {
    await refuses(() => [trade({ buyFeePpm: 1001 })], "RequireLessEq");
  });
  it("refuses a trade the buyer cannot pay for", async () => {
    await refuses(() => [trade({ buy: buy({ priceTicks: 1n << 39n }), priceTicks: 1n << 39n, lots: 10n })], "Num2Bits");
  });
  it("refuses a withdrawal above the balance, with a replayed nonce, or not signed by the owner", async () => {
    await refuses(() => [{ type: TxType.WITHDRAW, request: signWithdrawal(bob.key, { accountId: 2, tokenId: 1, amount: 1_000_001n, nonce: 0 }) }], "Num2Bits");
    await refuses((state) => {
      const w = signWithdrawal(bob.key, { accountId: 2, tokenId: 1, amount: 1n, nonce: 0 });
      buildBatch(state, [{ type: TxType.WITHDRAW, request: w }], { batchNumber: 8, timestamp: NOW });
      return [{ type: TxType.WITHDRAW, request: w }];
    }, rule("DepositWithdraw", "isWithdraw * (nonce - aNonce) === 0"));
    await refuses(() => [{ type: TxType.WITHDRAW, request: { ...signWithdrawal(mallory.key, { accountId: 2, tokenId: 1, amount: 1n, nonce: 0 }) } }], "ForceEqualIfEnabled");
  });
  it("refuses a cancel not signed by the owner", async () => {
    await refuses(() => [{ type: TxType.CANCEL, request: signCancel(mallory.key, { accountId: 2, orderId: 1n }) }], "ForceEqualIfEnabled");
  });
  it("proves an operator's cancel without a signature, after which the order never fills (OrderStorage's cancelled flag)", async () => {
    const state = fundedState();
    assert.ok(await witnessOk(state, [{ type: TxType.OPERATOR_CANCEL, accountId: 2, orderId: 1n }, { type: TxType.NOOP }]));
    await refuses((s) => {
      buildBatch(s, [{ type: TxType.OPERATOR_CANCEL, accountId: 2, orderId: 1n }], { batchNumber: 8, timestamp: NOW });
      return [trade()];
    }, rule("OrderStorage", "fill * effCancelled === 0"));
  });
  it("refuses an operator's cancel in an account without a trading key (OperatorCancel: the hunt's seed-48 hole)", async () => {
    // Account 4 has never registered a key (fundedState registers 1 to 3): it has signed no order, so nothing of it
    // is the operator's to cancel; before OperatorCancel the circuit took it and wrote the cancelled id into its order slot.
    await refuses(() => [{ type: TxType.OPERATOR_CANCEL, accountId: 4, orderId: 1n }], rule("OperatorCancel", "isOperatorCancel * keyless === 0"));
    // The honest builder refuses it too, with the same rule's name.
    assert.throws(() => buildBatch(fundedState(), [{ type: TxType.OPERATOR_CANCEL, accountId: 4, orderId: 1n }], { batchNumber: 9, timestamp: NOW }), /NO_TRADING_KEY/);
  });
  it("refuses an operator's cancel of an order older than its storage slot's (it would reset the newer order's fills)", async () => {
    const slots = BigInt(4 ** TEST_PARAMS.orderLevels);
    await refuses((state) => {
      buildBatch(state, [trade({ sell: sell({ orderId: 1n + slots }), lots: 8n })], { batchNumber: 8, timestamp: NOW });
      return [{ type: TxType.OPERATOR_CANCEL, accountId: 2, orderId: 1n }];
    }, rule("OrderStorage", "active * (1 - notNewer.out) === 0"));
  });
  it("refuses a deposit that overflows a balance", async () => {
    await refuses((state) => {
      state.setBalance(1, 0, (1n << 128n) - 10n);
      state.commitAccount(1);
      return [{ type: TxType.DEPOSIT, accountId: 1, tokenId: 0, amount: 10n }];
    }, "Num2Bits");
  });
  it("refuses registering a market twice or with a zero unit", async () => {
    await refuses(() => [{ type: TxType.REGISTER_MARKET, marketId: 0, baseTokenId: 1, sizeUnit: 1n, priceUnit: 1n }], rule("RegisterMarket", "isMarket * marketOldLeaf === 0"));
    await refuses(() => [{ type: TxType.REGISTER_MARKET, marketId: 1, baseTokenId: 1, sizeUnit: 0n, priceUnit: 1n }], rule("RegisterMarket", "isMarket * (baseIsZero.out + sizeUnitIsZero.out + priceUnitIsZero.out) === 0"));
  });
});
